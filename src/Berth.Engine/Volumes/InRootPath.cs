using Berth.Core;
using Berth.Interop;

namespace Berth.Engine.Volumes;

/// <summary>
/// A path inside a container's root filesystem resolved as if the root were "/" (Docker's FollowSymlinkInScope):
/// every symlink is followed on the way, and neither "..", nor an absolute link, leaves the root. Used on a root
/// that no container runs in (at create), so nothing can change it under us.
/// </summary>
public static class InRootPath
{
    /// <summary>The host path of <paramref name="path"/> inside <paramref name="root"/> (it need not exist).</summary>
    public static string Resolve(string root, string path)
    {
        root = root.TrimEnd('/');
        var done = new List<string>();
        var todo = new Queue<string>(path.Split('/', StringSplitOptions.RemoveEmptyEntries));
        int links = 0;
        while (todo.Count > 0)
        {
            var part = todo.Dequeue();
            if (part == ".") continue;
            if (part == "..")
            {
                if (done.Count > 0) done.RemoveAt(done.Count - 1);
                continue;
            }
            var candidate = root + "/" + string.Join('/', done.Append(part));
            Libc.FileStat st;
            try { st = Libc.Lstat(candidate); }
            catch (ErrnoException) { done.Add(part); done.AddRange(todo); return root + "/" + string.Join('/', done); }
            if ((st.Mode & 0xF000) != 0xA000)
            {
                done.Add(part);
                continue;
            }
            if (++links > 255) throw BerthException.Invalid($"too many links in {path}");
            var target = new FileInfo(candidate).LinkTarget ?? "";
            var rest = todo.ToList();
            if (target.StartsWith('/')) done.Clear();
            todo = new Queue<string>(target.Split('/', StringSplitOptions.RemoveEmptyEntries).Concat(rest));
        }
        return done.Count == 0 ? root : root + "/" + string.Join('/', done);
    }
}
