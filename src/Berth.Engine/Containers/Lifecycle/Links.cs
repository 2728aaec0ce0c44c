using Berth.Api.Containers;
using Berth.Core;
using Berth.Engine.Networking;

namespace Berth.Engine.Containers;

/// <summary>
/// Docker's legacy links (<c>docker run --link web:db</c>) on the default bridge. At create the target must exist
/// (dockerd: "could not get container for X"); HostConfig.Links is kept as dockerd's inspect shows it
/// ("/web:/client/db"). At start, when the linking container is on the default bridge, each target must be on it
/// too and running; the container's /etc/hosts gets "IP\talias hostname [name]" per link and its processes the
/// variables of <see cref="LinkEnv"/>. <c>docker rm --link /client/db</c> removes one link. A removed target stays
/// in its parents' links, which then cannot start ("Cannot link to a non running container"), as dockerd 20.10.
/// </summary>
public sealed partial class ContainerManager
{
    /// <summary>opts.ParseLink: "name", "name:alias" or an inspected "/name:/parent/alias".</summary>
    internal static (string Name, string Alias) ParseLink(string link)
    {
        if (link == "") throw BerthException.Invalid("empty string specified for links");
        var parts = link.Split(':');
        if (parts.Length > 2) throw BerthException.Invalid($"bad format for links: {link}");
        if (parts.Length == 1) return (link, link);
        if (parts[0].StartsWith('/')) return (parts[0][1..], parts[1][(parts[1].LastIndexOf('/') + 1)..]);
        return (parts[0], parts[1]);
    }

    /// <summary>At create: every target exists and does not use the host's network (dockerd's registerLinks).</summary>
    private void CheckLinksAtCreate(HostConfig host)
    {
        if (host.Links is not { Count: > 0 }) return;
        if (host.NetworkMode == "host")
            throw BerthException.Invalid("conflicting options: host type networking can't be used with links. This would result in undefined behavior");
        if (host.NetworkMode.StartsWith("container:", StringComparison.Ordinal))
            throw BerthException.Invalid("conflicting options: container type network can't be used with links. This would result in undefined behavior");
        foreach (var l in host.Links)
        {
            var (name, _) = ParseLink(l);
            var target = LinkTarget(name);
            while (target.HostConfig.NetworkMode.StartsWith("container:", StringComparison.Ordinal))
                target = LinkTarget(target.HostConfig.NetworkMode["container:".Length..]);
            if (target.HostConfig.NetworkMode == "host")
                throw BerthException.Invalid("conflicting options: host type networking can't be used with links. This would result in undefined behavior");
        }
    }

    private ContainerRecord LinkTarget(string name)
    {
        try { return Store.Get(name); }
        catch (BerthException e) when (e.Kind == ErrorKind.NotFound)
        {
            throw BerthException.Invalid($"could not get container for {name}: {e.Message}");
        }
    }

    /// <summary>After the name is reserved: HostConfig.Links as "/target:/parent/alias" (one per alias, as
    /// dockerd's name registry keeps them).</summary>
    private void NormalizeLinks(ContainerRecord c)
    {
        if (c.HostConfig.Links is not { Count: > 0 } links) return;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var result = new List<string>();
        foreach (var l in links)
        {
            var (name, alias) = ParseLink(l);
            var target = Store.Get(name);
            var full = $"/{c.Name}/{alias}";
            if (seen.Add(full)) result.Add($"/{target.Name}:{full}");
        }
        c.HostConfig.Links = result;
    }

    /// <summary>The /etc/hosts lines and environment the links give a container starting on the default bridge
    /// (none elsewhere: links are the default bridge's only).</summary>
    private (string Hosts, List<string> Env) LinksAtStart(ContainerRecord c)
    {
        var env = new List<string>();
        if (c.HostConfig.Links is not { Count: > 0 } links || !c.Networks.TryGetValue("bridge", out var own)) return ("", env);
        var hosts = new System.Text.StringBuilder();
        var targets = new List<(string LinkName, ContainerRecord Target)>();
        foreach (var l in links)
        {
            var colon = l.IndexOf(':');
            if (colon < 0) continue;
            var linkName = l[(colon + 1)..];
            if (!Store.TryGet(l[..colon], out var t) || t is null)
                throw new BerthException(ErrorKind.System, $"Cannot link to a non running container: {l[..colon]} AS {linkName}"); // removed since
            if (!t.Networks.ContainsKey("bridge") && !(t.Networks.Count == 0 && t.HostConfig.NetworkMode is "default" or "bridge" or ""))
                throw new BerthException(ErrorKind.System, $"Cannot link to /{t.Name}, as it does not belong to the default network");
            var alias = linkName[(linkName.LastIndexOf('/') + 1)..];
            var aliasList = alias + " " + t.Config.Hostname;
            if (alias != t.Name) aliasList += " " + t.Name;
            var ip = t.Networks.TryGetValue("bridge", out var tn) ? tn.IPAddress : "";
            if (t.State.Running && ip != "") hosts.Append(ip).Append('\t').Append(aliasList).Append('\n');
            targets.Add((linkName, t));
        }
        foreach (var (linkName, t) in targets)
        {
            if (!t.State.Running)
                throw new BerthException(ErrorKind.System, $"Cannot link to a non running container: /{t.Name} AS {linkName}");
            env.AddRange(LinkEnv.ToEnv(linkName, t.Networks["bridge"].IPAddress, t.Config.Env, t.Config.ExposedPorts?.Keys));
        }
        _ = own;
        return (hosts.ToString(), env);
    }

    /// <summary>
    /// docker rm --link /parent/alias (DELETE /containers/{name}?link=true): removes that link from the parent
    /// (its /etc/hosts and environment change at its next start, as with dockerd). A name without a parent part is
    /// dockerd's conflict.
    /// </summary>
    public void RemoveLink(string name)
    {
        var asked = name;
        if (!name.StartsWith('/')) name = "/" + name;
        var slash = name.LastIndexOf('/');
        if (slash == 0)
        {
            _ = Store.Get(name); // No such container: ... when it names none
            throw new BerthException(ErrorKind.System, "Conflict, cannot remove the default link name of the container");
        }
        var parentName = name[..slash];
        if (!Store.TryGet(parentName, out var parent) || parent is null)
            throw BerthException.NotFound($"No such container: {asked}");
        var links = parent.HostConfig.Links ?? [];
        // A link whose target was removed is not found either (dockerd released its name with the target).
        var kept = links.Where(l => l[(l.IndexOf(':') + 1)..] != $"/{parent.Name}{name[slash..]}" || !Store.TryGet(l[..l.IndexOf(':')], out _)).ToList();
        if (kept.Count == links.Count) throw BerthException.NotFound($"No such container: {asked}");
        parent.HostConfig.Links = kept.Count == 0 ? null : kept;
        Store.Save(parent);
    }
}
