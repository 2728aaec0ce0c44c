using System.Diagnostics;
using System.Text;

namespace Berth.Engine.Networking;

/// <summary>
/// Coexistence with Docker's firewall (docs/design/networking.md, "Docker's FORWARD policy on the same host").
/// dockerd (iptables on) sets the policy of `filter FORWARD` to DROP when it turns ip_forward on, and with
/// br_netfilter even traffic between two containers of one Berth bridge crosses that chain. A drop in any base
/// chain wins over Berth's own accepts, so Berth's forwarded traffic is let through where Docker lets other
/// software in: its DOCKER-USER chain (jumped to first from FORWARD; dockerd never flushes it). Per bridge of
/// this daemon, marked with the daemon's owner comment:
/// <code>
///   -i BRIDGE -j ACCEPT                                    (from its containers: same bridge, way out)
///   -o BRIDGE -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT   (replies)
///   -o BRIDGE -m conntrack --ctstate DNAT -j ACCEPT        (published ports reached from elsewhere)
/// </code>
/// Through the `iptables` command, so the rules land in the backend dockerd uses (nft or legacy). The chain is
/// made when missing, so that a dockerd started later keeps it and jumps to it (it creates DOCKER-USER only when
/// absent, and adds its RETURN after Berth's rules). Berth's isolation between its networks is not undone: its
/// own table's drops still apply. Only the bridge set changing runs iptables (network create/rm, a bridge made
/// or removed), never a container start.
/// </summary>
public sealed class DockerUserRules(string owner)
{
    public const string Chain = "DOCKER-USER";
    private string[]? _applied;

    /// <summary>The rules of <paramref name="bridges"/> present (and this owner's others removed) when the set
    /// changed since the last call. No iptables command on the host: nothing to do (no Docker firewall either).</summary>
    public void Sync(IEnumerable<string> bridges)
    {
        var want = bridges.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();
        if (_applied is not null && _applied.SequenceEqual(want)) return;
        if (!Available()) { _applied = want; return; }
        if (want.Length > 0 && Iptables("-w", "-n", "-L", Chain).Code != 0) Iptables("-w", "-N", Chain);
        var have = OwnRules(owner);
        var wanted = want.SelectMany(RulesOf).ToList();
        foreach (var r in have.Where(h => !wanted.Any(w => w.SequenceEqual(h)))) Iptables(["-w", "-D", Chain, .. r]);
        // Inserted at the top, in reverse so that they end in order, before dockerd's RETURN.
        foreach (var r in Enumerable.Reverse(wanted).Where(w => !have.Any(h => h.SequenceEqual(w))))
        {
            var (code, err) = Iptables(["-w", "-I", Chain, "1", .. r]);
            if (code != 0) throw new Core.BerthException(Core.ErrorKind.System, $"iptables -I {Chain}: {err.Trim()}");
        }
        if (want.Length == 0) RemoveChainIfEmpty();
        _applied = want;
    }

    /// <summary>Every rule of <paramref name="ownerMark"/> removed (a daemon gone: test fixtures, orphans).</summary>
    public static void RemoveAllOf(string ownerMark)
    {
        if (!Available()) return;
        foreach (var r in OwnRules(ownerMark)) Iptables(["-w", "-D", Chain, .. r]);
        RemoveChainIfEmpty();
    }

    /// <summary>The owner marks of every Berth rule in DOCKER-USER (for the orphan sweep).</summary>
    public static IEnumerable<string> Owners()
    {
        if (!Available()) return [];
        return Rules().Select(r => CommentOf(r)).Where(c => c is not null && c.StartsWith(NetworkOwnership.Prefix, StringComparison.Ordinal))
            .Select(c => c!).Distinct(StringComparer.Ordinal).ToList();
    }

    private string[][] RulesOf(string bridge) =>
    [
        ["-i", bridge, "-m", "comment", "--comment", owner, "-j", "ACCEPT"],
        ["-o", bridge, "-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED", "-m", "comment", "--comment", owner, "-j", "ACCEPT"],
        ["-o", bridge, "-m", "conntrack", "--ctstate", "DNAT", "-m", "comment", "--comment", owner, "-j", "ACCEPT"],
    ];

    /// <summary>This owner's rules as `iptables -S` prints them (without "-A DOCKER-USER"), ready for -D.</summary>
    private static List<string[]> OwnRules(string ownerMark) => Rules().Where(r => CommentOf(r) == ownerMark).ToList();

    private static List<string[]> Rules()
    {
        var (code, output) = IptablesOut("-w", "-S", Chain);
        if (code != 0) return [];
        return output.Split('\n').Select(Split).Where(a => a.Length > 2 && a[0] == "-A" && a[1] == Chain).Select(a => a[2..]).ToList();
    }

    private static string? CommentOf(string[] rule)
    {
        int i = Array.IndexOf(rule, "--comment");
        return i >= 0 && i + 1 < rule.Length ? rule[i + 1] : null;
    }

    /// <summary>The chain deleted when nothing is left in it (Berth made it; dockerd's always has its RETURN).</summary>
    private static void RemoveChainIfEmpty()
    {
        var (code, output) = IptablesOut("-w", "-S", Chain);
        if (code == 0 && output.Split('\n', StringSplitOptions.RemoveEmptyEntries).All(l => l.StartsWith("-N ", StringComparison.Ordinal)))
            Iptables("-w", "-X", Chain); // fails (and stays) when FORWARD jumps to it
    }

    /// <summary>`iptables -S` words: space separated, "quoted strings" as one.</summary>
    private static string[] Split(string line)
    {
        var words = new List<string>();
        var w = new StringBuilder();
        bool quoted = false, any = false;
        foreach (var ch in line.Trim())
        {
            if (ch == '"') { quoted = !quoted; any = true; }
            else if (ch == ' ' && !quoted)
            {
                if (any) words.Add(w.ToString());
                w.Clear();
                any = false;
            }
            else { w.Append(ch); any = true; }
        }
        if (any) words.Add(w.ToString());
        return [.. words];
    }

    private static bool? s_available;

    private static bool Available() => s_available ??= IptablesOut("-V").Code == 0;

    private static (int Code, string Err) Iptables(params string[] args)
    {
        var (code, _, err) = RunIptables(args);
        return (code, err);
    }

    private static (int Code, string Out) IptablesOut(params string[] args)
    {
        var (code, output, _) = RunIptables(args);
        return (code, output);
    }

    private static (int Code, string Out, string Err) RunIptables(string[] args)
    {
        var psi = new ProcessStartInfo("iptables") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        Process p;
        try { p = Process.Start(psi)!; }
        catch (System.ComponentModel.Win32Exception) { return (127, "", "iptables not found"); }
        using (p)
        {
            var err = p.StandardError.ReadToEndAsync();
            var output = p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            return (p.ExitCode, output, err.Result);
        }
    }
}
