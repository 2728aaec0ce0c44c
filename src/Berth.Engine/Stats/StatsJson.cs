using System.Text.Json;
using Berth.Cgroups;

namespace Berth.Engine.Stats;

/// <summary>
/// Docker 20.10's stats JSON (types.StatsJSON) from two readings: read/preread, pids_stats, blkio_stats, num_procs,
/// storage_stats, cpu_stats and precpu_stats, memory_stats, name, id, networks. A container that does not run
/// has zeros and empties, as dockerd's.
/// </summary>
public static class StatsJson
{
    // The memory.stat keys dockerd reports (statsV1 / statsV2): the docker CLI subtracts total_inactive_file (v1)
    // or inactive_file (v2) from usage.
    private static readonly string[] V1Keys =
    [
        "active_anon", "active_file", "cache", "dirty", "hierarchical_memory_limit", "hierarchical_memsw_limit", "inactive_anon",
        "inactive_file", "mapped_file", "pgfault", "pgmajfault", "pgpgin", "pgpgout", "rss", "rss_huge", "swap", "total_active_anon",
        "total_active_file", "total_cache", "total_dirty", "total_inactive_anon", "total_inactive_file", "total_mapped_file",
        "total_pgfault", "total_pgmajfault", "total_pgpgin", "total_pgpgout", "total_rss", "total_rss_huge", "total_swap",
        "total_unevictable", "total_writeback", "unevictable", "writeback",
    ];

    private static readonly string[] V2Keys =
    [
        "active_anon", "active_file", "anon", "anon_thp", "file", "file_dirty", "file_mapped", "file_writeback", "inactive_anon",
        "inactive_file", "kernel_stack", "pgactivate", "pgdeactivate", "pgfault", "pglazyfree", "pglazyfreed", "pgmajfault", "pgrefill",
        "pgscan", "pgsteal", "shmem", "slab", "slab_reclaimable", "slab_unreclaimable", "sock", "thp_collapse_alloc", "thp_fault_alloc",
        "unevictable", "workingset_activate", "workingset_nodereclaim", "workingset_refault",
    ];

    private static readonly string[] BlkioLists =
    [
        "io_service_bytes_recursive", "io_serviced_recursive", "io_queue_recursive", "io_service_time_recursive",
        "io_wait_time_recursive", "io_merged_recursive", "io_time_recursive", "sectors_recursive",
    ];

    /// <summary>Go's RFC3339Nano of a UTC time (trailing zeros of the fraction dropped).</summary>
    public static string Rfc3339Nano(DateTime t)
    {
        if (t == default) return "0001-01-01T00:00:00Z";
        var s = t.ToUniversalTime().ToString("yyyy-MM-ddTHH:mm:ss.fffffff", System.Globalization.CultureInfo.InvariantCulture).TrimEnd('0').TrimEnd('.');
        return s + "Z";
    }

    public static void Write(Utf8JsonWriter w, string name, string id, StatsSample? cur, StatsSample? pre)
    {
        w.WriteStartObject();
        w.WriteString("read", Rfc3339Nano(cur?.Read ?? default));
        w.WriteString("preread", Rfc3339Nano(pre?.Read ?? default));
        w.WriteStartObject("pids_stats");
        if (cur is not null)
        {
            if (cur.Cgroup.Pids.Current != 0) w.WriteNumber("current", cur.Cgroup.Pids.Current);
            if (cur.Cgroup.Pids.Limit != 0) w.WriteNumber("limit", cur.Cgroup.Pids.Limit);
        }
        w.WriteEndObject();
        WriteBlkio(w, cur);
        w.WriteNumber("num_procs", 0);
        w.WriteStartObject("storage_stats");
        w.WriteEndObject();
        WriteCpu(w, "cpu_stats", cur);
        WriteCpu(w, "precpu_stats", pre);
        WriteMemory(w, cur);
        w.WriteString("name", "/" + name);
        w.WriteString("id", id);
        if (cur is { Networks.Count: > 0 })
        {
            w.WriteStartObject("networks");
            foreach (var n in cur.Networks)
            {
                w.WriteStartObject(n.Name);
                w.WriteNumber("rx_bytes", n.RxBytes);
                w.WriteNumber("rx_packets", n.RxPackets);
                w.WriteNumber("rx_errors", n.RxErrors);
                w.WriteNumber("rx_dropped", n.RxDropped);
                w.WriteNumber("tx_bytes", n.TxBytes);
                w.WriteNumber("tx_packets", n.TxPackets);
                w.WriteNumber("tx_errors", n.TxErrors);
                w.WriteNumber("tx_dropped", n.TxDropped);
                w.WriteEndObject();
            }
            w.WriteEndObject();
        }
        w.WriteEndObject();
    }

    private static void WriteBlkio(Utf8JsonWriter w, StatsSample? s)
    {
        w.WriteStartObject("blkio_stats");
        var b = s?.Cgroup.Blkio;
        List<BlkioEntry>?[] lists = b is null ? new List<BlkioEntry>?[8]
            : s!.CgroupV2 ? [b.IoServiceBytesRecursive?.Where(e => e.Op is "Read" or "Write").ToList(), null, null, null, null, null, null, null]
            : [b.IoServiceBytesRecursive ?? [], b.IoServicedRecursive ?? [], b.IoQueuedRecursive ?? [], b.IoServiceTimeRecursive ?? [],
               b.IoWaitTimeRecursive ?? [], b.IoMergedRecursive ?? [], b.IoTimeRecursive ?? [], b.SectorsRecursive ?? []];
        for (int i = 0; i < BlkioLists.Length; i++)
        {
            if (lists[i] is not { } list)
            {
                w.WriteNull(BlkioLists[i]);
                continue;
            }
            w.WriteStartArray(BlkioLists[i]);
            foreach (var e in list)
            {
                w.WriteStartObject();
                w.WriteNumber("major", e.Major);
                w.WriteNumber("minor", e.Minor);
                // dockerd's v2 entries say "read"/"write"; v1's keep the kernel's words.
                w.WriteString("op", s!.CgroupV2 ? e.Op!.ToLowerInvariant() : e.Op);
                w.WriteNumber("value", e.Value);
                w.WriteEndObject();
            }
            w.WriteEndArray();
        }
        w.WriteEndObject();
    }

    private static void WriteCpu(Utf8JsonWriter w, string key, StatsSample? s)
    {
        w.WriteStartObject(key);
        w.WriteStartObject("cpu_usage");
        var u = s?.Cgroup.Cpu.Usage;
        w.WriteNumber("total_usage", u?.Total ?? 0);
        if (u?.PerCpu is { Count: > 0 } per && s is { CgroupV2: false })
        {
            w.WriteStartArray("percpu_usage");
            foreach (var v in per) w.WriteNumberValue(v);
            w.WriteEndArray();
        }
        w.WriteNumber("usage_in_kernelmode", u?.Kernel ?? 0);
        w.WriteNumber("usage_in_usermode", u?.User ?? 0);
        w.WriteEndObject();
        if (s is not null)
        {
            if (s.SystemCpuUsage != 0) w.WriteNumber("system_cpu_usage", s.SystemCpuUsage);
            if (s.OnlineCpus != 0) w.WriteNumber("online_cpus", s.OnlineCpus);
        }
        var t = s?.Cgroup.Cpu.Throttling;
        w.WriteStartObject("throttling_data");
        w.WriteNumber("periods", t?.Periods ?? 0);
        w.WriteNumber("throttled_periods", t?.ThrottledPeriods ?? 0);
        w.WriteNumber("throttled_time", t?.ThrottledTime ?? 0);
        w.WriteEndObject();
        w.WriteEndObject();
    }

    private static void WriteMemory(Utf8JsonWriter w, StatsSample? s)
    {
        w.WriteStartObject("memory_stats");
        if (s is not null)
        {
            var m = s.Cgroup.Memory;
            if (m.Usage.Usage != 0) w.WriteNumber("usage", m.Usage.Usage);
            if (!s.CgroupV2 && m.Usage.Max != 0) w.WriteNumber("max_usage", m.Usage.Max);
            var raw = m.Raw ?? [];
            w.WriteStartObject("stats");
            foreach (var k in s.CgroupV2 ? V2Keys : V1Keys)
                if (raw.TryGetValue(k, out var v)) w.WriteNumber(k, v);
            w.WriteEndObject();
            if (!s.CgroupV2 && m.Usage.Failcnt != 0) w.WriteNumber("failcnt", m.Usage.Failcnt);
            // No limit (v2 "max", v1's page-rounded maximum): the host's memory, as dockerd.
            ulong limit = m.Usage.Limit;
            if (s.MachineMemory > 0 && (limit == 0 || limit > s.MachineMemory)) limit = s.MachineMemory;
            if (limit != 0) w.WriteNumber("limit", limit);
        }
        w.WriteEndObject();
    }
}
