using System.Diagnostics;
using System.Text.RegularExpressions;
using Berth.Interop;
using Berth.Interop.Netlink;

namespace Berth.Engine.Networking;

/// <summary>
/// Who owns which host plumbing. A daemon is named by its exec root: its default bridge is
/// <see cref="NetworkManager.BridgeNameFor"/> ("berth0" for /run/berth, else "bb" + 8 hex of the exec root's
/// hash), its nftables table "berth" or "berth-&lt;that bridge&gt;". Every link a daemon makes in the host's namespace
/// for a network (bridges; vlan and dummy parents of macvlan networks) carries the alias (IFLA_IFALIAS)
/// "berth:&lt;exec root&gt;", and its table the comment "berth:&lt;exec root&gt;". Host-side veths are owned through their
/// master (a port of an owned bridge). So, without any record:
/// - a daemon at start deletes its own links that none of its networks names, and veths on its bridges that none
///   of its endpoints names (a crash between making a link and recording it);
/// - anyone may delete the plumbing of a daemon whose exec root no longer exists (<see cref="RemoveOrphans"/>: a
///   test daemon killed and its directory removed): no daemon can run without its exec root;
/// - a test fixture deletes everything of a daemon it killed (<see cref="RemoveAllOf"/>).
/// Its rules in Docker's DOCKER-USER chain carry the same mark as an iptables comment (<see cref="DockerUserRules"/>).
/// </summary>
public static partial class NetworkOwnership
{
    public const string Prefix = "berth:";

    public static string OwnerOf(string execRoot) => Prefix + Path.GetFullPath(execRoot).TrimEnd('/');

    public static string TableFor(string execRoot)
    {
        var bridge = NetworkManager.BridgeNameFor(execRoot);
        return bridge == "berth0" ? "berth" : "berth-" + bridge;
    }

    /// <summary>
    /// Everything of the daemon with <paramref name="execRoot"/> in the host: its sandboxes unmounted, its links
    /// (and the veths on its bridges) deleted, its table deleted. Only once that daemon is gone (tests after a kill -9).
    /// Returns what was removed (for logs and tests).
    /// </summary>
    public static List<string> RemoveAllOf(string execRoot)
    {
        var removed = new List<string>();
        var netns = Path.Combine(execRoot, "netns");
        if (Directory.Exists(netns))
            foreach (var f in Directory.GetFiles(netns))
            {
                try { NetNamespace.Remove(f); removed.Add(f); }
                catch (ErrnoException) { }
            }
        var owner = OwnerOf(execRoot);
        var defaultBridge = NetworkManager.BridgeNameFor(execRoot);
        using (var nl = RtNetlink.Open())
            removed.AddRange(DeleteLinks(nl, l => l.Alias == owner || (l.Name == defaultBridge && defaultBridge != "berth0" && l.Kind == "bridge")));
        var table = TableFor(execRoot);
        if (Nft(["list", "tables"]).Contains($"table ip {table}\n", StringComparison.Ordinal) && DeleteTable(table)) removed.Add("table " + table);
        if (DockerUserRules.Owners().Contains(owner))
        {
            DockerUserRules.RemoveAllOf(owner);
            removed.Add(DockerUserRules.Chain + " rules");
        }
        return removed;
    }

    /// <summary>
    /// The plumbing of daemons whose exec root is gone (never <paramref name="myExecRoot"/>'s): links with a
    /// "berth:&lt;path&gt;" alias and tables with a "berth:&lt;path&gt;" comment whose path does not exist.
    /// </summary>
    public static List<string> RemoveOrphans(RtNetlink nl, string myExecRoot)
    {
        var mine = OwnerOf(myExecRoot);
        bool Orphan(string owner) => owner.StartsWith(Prefix, StringComparison.Ordinal) && owner != mine && !Directory.Exists(owner[Prefix.Length..]);
        var removed = DeleteLinks(nl, l => Orphan(l.Alias));
        foreach (Match m in TableLine().Matches(Nft(["list", "tables"])))
        {
            var table = m.Groups[1].Value;
            var comment = CommentLine().Match(Nft(["list", "table", "ip", table]));
            if (comment.Success && Orphan(comment.Groups[1].Value) && DeleteTable(table)) removed.Add("table " + table);
        }
        foreach (var owner in DockerUserRules.Owners().Where(Orphan))
        {
            DockerUserRules.RemoveAllOf(owner);
            removed.Add($"{DockerUserRules.Chain} rules of {owner}");
        }
        return removed;
    }

    /// <summary>Deletes the links <paramref name="owned"/> selects and the veths that are ports of them.</summary>
    public static List<string> DeleteLinks(RtNetlink nl, Func<LinkInfo, bool> owned)
    {
        var removed = new List<string>();
        var links = nl.LinkDetails();
        var targets = links.Where(owned).ToList();
        var indexes = targets.Select(l => l.Index).ToHashSet();
        foreach (var port in links.Where(l => l.Kind == "veth" && indexes.Contains(l.Master)))
            if (nl.DeleteLink(port.Index)) removed.Add(port.Name);
        foreach (var l in targets)
            if (nl.DeleteLink(l.Index)) removed.Add(l.Name);
        return removed;
    }

    private static bool DeleteTable(string table)
    {
        try
        {
            Nft(["delete", "table", "ip", table]);
            return true;
        }
        catch (Core.BerthException) { return false; }
    }

    /// <summary>Runs nft (reading only, or deleting one table); "" when nft is not installed.</summary>
    private static string Nft(string[] args)
    {
        var psi = new ProcessStartInfo("nft") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        Process p;
        try { p = Process.Start(psi)!; }
        catch (System.ComponentModel.Win32Exception) { return ""; }
        using (p)
        {
            var err = p.StandardError.ReadToEndAsync();
            var output = p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            if (p.ExitCode != 0) throw new Core.BerthException(Core.ErrorKind.System, $"nft {string.Join(' ', args)}: {err.Result.Trim()}");
            return output;
        }
    }

    [GeneratedRegex(@"^table ip (berth[-\w]*)$", RegexOptions.Multiline)]
    private static partial Regex TableLine();

    [GeneratedRegex("^\\s*comment \"(berth:[^\"]*)\"", RegexOptions.Multiline)]
    private static partial Regex CommentLine();
}
