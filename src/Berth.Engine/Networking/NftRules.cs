using System.Diagnostics;
using System.Text;
using Berth.Core;

namespace Berth.Engine.Networking;

/// <summary>
/// Berth's packet filter: ONE nftables table of its own (`table ip berth`, or `berth-&lt;suffix&gt;` for a daemon
/// with a non-default exec root), rewritten whole in one transaction (`nft -f -` with "add table; delete table;
/// table {…}") at each network change, never per container or packet. Docker's or Podman's tables are not
/// touched. Rules, per bridge network:
/// - postrouting (nat): masquerade what leaves the subnet by another interface (not for --internal networks or
///   enable_ip_masquerade=false);
/// - forward (filter): isolation: traffic from one Berth bridge to another is dropped; an --internal network's
///   traffic may not leave its bridge; with enable_icc=false the bridge's ports are isolated by the kernel's
///   bridge port flag (see BridgeDriver), as the traffic never reaches the IP layer.
/// </summary>
public sealed class NftRules(string table)
{
    public string Table { get; } = table;

    public static string Render(string table, IEnumerable<NetworkRecord> networks)
    {
        var bridges = networks.Where(n => n.Driver == "bridge" && n.BridgeName != "").OrderBy(n => n.BridgeName, StringComparer.Ordinal).ToList();
        var sb = new StringBuilder();
        sb.Append("add table ip ").Append(table).Append('\n');
        sb.Append("delete table ip ").Append(table).Append('\n');
        sb.Append("table ip ").Append(table).Append(" {\n");
        sb.Append("\tchain forward {\n\t\ttype filter hook forward priority filter; policy accept;\n");
        // Published ports are reachable from every network, as through dockerd's userland proxy.
        if (bridges.Count > 1 && bridges.Any(b => b.Endpoints.Values.Any(e => e.Ports.Count > 0))) sb.Append("\t\tct status dnat accept\n");
        if (bridges.Count > 1)
        {
            var set = string.Join(", ", bridges.Select(b => $"\"{b.BridgeName}\""));
            foreach (var b in bridges)
                sb.Append($"\t\tiifname \"{b.BridgeName}\" oifname {{ {set} }} oifname != \"{b.BridgeName}\" drop\n");
        }
        foreach (var b in bridges.Where(b => b.Internal))
        {
            sb.Append($"\t\tiifname \"{b.BridgeName}\" oifname != \"{b.BridgeName}\" drop\n");
            sb.Append($"\t\toifname \"{b.BridgeName}\" iifname != \"{b.BridgeName}\" drop\n");
        }
        sb.Append("\t}\n");
        sb.Append("\tchain postrouting {\n\t\ttype nat hook postrouting priority srcnat; policy accept;\n");
        foreach (var b in bridges.Where(b => !b.Internal && b.Masquerade && b.Subnet != ""))
            sb.Append($"\t\tip saddr {b.Subnet} oifname != \"{b.BridgeName}\" masquerade\n");
        sb.Append("\t}\n");
        PortRules.Append(sb, bridges); // published ports: chains of their own
        sb.Append("}\n");
        return sb.ToString();
    }

    /// <summary>The owner mark written as the table's comment ("berth:&lt;exec root&gt;", see NetworkOwnership).</summary>
    public string Owner { get; init; } = "";

    public void Apply(IEnumerable<NetworkRecord> networks) => Run(WithOwner(Render(Table, networks)));

    /// <summary>The owner's comment as the table's first statement (how orphaned tables are recognized).</summary>
    private string WithOwner(string ruleset)
    {
        var head = $"table ip {Table} {{\n";
        int at = ruleset.IndexOf(head, StringComparison.Ordinal);
        return Owner == "" || at < 0 ? ruleset : ruleset.Insert(at + head.Length, $"\tcomment \"{Owner.Replace("\"", "")}\"\n");
    }

    /// <summary>Removes the table (when berthd's last bridge goes, and in tests).</summary>
    public void Delete() => Run($"add table ip {Table}\ndelete table ip {Table}\n");

    private static void Run(string ruleset)
    {
        var psi = new ProcessStartInfo("nft", ["-f", "-"])
        {
            RedirectStandardInput = true, RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false,
        };
        Process p;
        try { p = Process.Start(psi)!; }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new BerthException(ErrorKind.System, $"nft (Debian's nftables) is needed for bridge networks: {e.Message}");
        }
        using (p)
        {
            p.StandardInput.Write(ruleset);
            p.StandardInput.Close();
            var err = p.StandardError.ReadToEnd();
            p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            if (p.ExitCode != 0) throw new BerthException(ErrorKind.System, $"nft: {err.Trim()}");
        }
    }
}
