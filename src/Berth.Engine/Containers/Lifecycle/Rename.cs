using Berth.Core;

namespace Berth.Engine.Containers;

public sealed partial class ContainerManager
{
    /// <summary>docker rename (dockerd's ContainerRename): the name is checked and reserved as at create; the
    /// rename event carries the old name.</summary>
    public void Rename(string idOrName, string newName)
    {
        if (string.IsNullOrEmpty(idOrName) || string.IsNullOrEmpty(newName))
            throw BerthException.Invalid("Neither old nor new names may be empty");
        var c = Store.Get(idOrName);
        var entry = EntryOf(c.Id);
        entry.Gate.Wait();
        try
        {
            c = Store.Get(c.Id);
            var oldName = c.Name;
            if (oldName == newName.TrimStart('/'))
                throw BerthException.Invalid("Renaming a container with the same name as its current name");
            Store.Rename(c, newName);
            try
            {
                Store.Save(c);
            }
            catch
            {
                Store.Rename(c, oldName);
                throw;
            }
            _networks?.Renamed(c.Id, c.Name);
            Publish(c, "rename", ("oldName", "/" + oldName));
        }
        finally
        {
            entry.Gate.Release();
        }
    }
}
