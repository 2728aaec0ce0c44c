using Berth.Core;
using Berth.Runtime.Linux;
using Berth.Runtime.Plan;

namespace Berth.Runtime.Tests.Plan;

public class PlanBuilderTests
{
    private static PlanContext Ctx(byte[]? seccomp = null, int fifo = 7) => new()
    {
        Bundle = "/bundle", RootfsPath = "/bundle/rootfs", ExecFifoFd = fifo, SeccompFilter = seccomp,
    };

    private static List<PlanOp> Ops(ProcessPlan p) => p.Steps.Select(s => s.Op).ToList();

    [Fact]
    public void InitPlanFollowsRuncOrder()
    {
        var plan = PlanBuilder.ForInit(SpecFixtures.Default(), Ctx());
        var ops = Ops(plan);
        Assert.Equal(PlanOp.Sync, ops[0]);
        Assert.Equal(PlanOp.Unshare, ops[1]); // cgroup namespace after the cgroup is joined
        int Index(PlanOp op) => ops.IndexOf(op);
        Assert.True(Index(PlanOp.OpenRoot) < Index(PlanOp.PivotRoot));
        Assert.True(Index(PlanOp.PivotRoot) < Index(PlanOp.SetHostname));
        Assert.True(Index(PlanOp.PivotRoot) < Index(PlanOp.MaskPath));
        Assert.True(Index(PlanOp.SetUid) < Index(PlanOp.CapSet));
        Assert.True(Index(PlanOp.CapsBounding) < Index(PlanOp.SetUid));
        Assert.True(Index(PlanOp.Lookup) < Index(PlanOp.Ready));
        Assert.True(Index(PlanOp.Ready) < Index(PlanOp.ExecFifo));
        Assert.Equal(PlanOp.Exec, ops[^1]);
        // CLONE_NEWCGROUP is not among the clone flags: it is unshared later.
        Assert.Equal(0UL, plan.CloneFlags & (ulong)Interop.Libc.CLONE_NEWCGROUP);
        Assert.NotEqual(0UL, plan.CloneFlags & (ulong)Interop.Libc.CLONE_NEWPID);
    }

    [Fact]
    public void WithoutCgroupNamespaceTheCgroupWaitComesAfterTheRootfs()
    {
        var spec = SpecFixtures.Default();
        spec.Linux!.Namespaces!.RemoveAll(n => n.Type == "cgroup");
        var ops = Ops(PlanBuilder.ForInit(spec, Ctx()));
        Assert.DoesNotContain(PlanOp.Unshare, ops);
        Assert.True(ops.IndexOf(PlanOp.Sync) > ops.FindLastIndex(o => o == PlanOp.Mknod));
        Assert.True(ops.IndexOf(PlanOp.Sync) < ops.IndexOf(PlanOp.PivotRoot));
    }

    [Fact]
    public void ChildJoinsV1CgroupsItselfWithoutWaiting()
    {
        var ctx = new PlanContext
        {
            Bundle = "/bundle", RootfsPath = "/bundle/rootfs", ExecFifoFd = 7,
            CgroupSelfJoin = ["/sys/fs/cgroup/cpu/berth/x/tasks", "/sys/fs/cgroup/memory/berth/x/tasks"],
        };
        var plan = PlanBuilder.ForInit(SpecFixtures.Default(), ctx);
        Assert.Equal(PlanOp.WriteFile, plan.Steps[0].Op);
        Assert.Equal("\"/sys/fs/cgroup/cpu/berth/x/tasks\"", plan.Steps[0].Args[0].ToString());
        Assert.Equal("\"0\"", plan.Steps[0].Args[1].ToString());
        Assert.Equal(PlanOp.Unshare, plan.Steps[2].Op); // the cgroup namespace right after joining
        Assert.DoesNotContain(plan.Steps, s => s.Op == PlanOp.Sync);
    }

    [Fact]
    public void NewUserNamespaceWaitsForMapsFirstThenBecomesRoot()
    {
        var spec = SpecFixtures.Default();
        spec.Linux!.Namespaces!.Add(new Spec.LinuxNamespace { Type = "user" });
        var plan = PlanBuilder.ForInit(spec, Ctx());
        Assert.Equal("\"userns\"", plan.Steps[0].Args[0].ToString());
        Assert.Equal([PlanOp.Sync, PlanOp.SetGroups, PlanOp.SetGid, PlanOp.SetUid], Ops(plan)[..4]);
        Assert.NotEqual(0UL, plan.CloneFlags & (ulong)Interop.Libc.CLONE_NEWUSER);
    }

    [Fact]
    public void ReadonlyRootIsRemountedAfterMaskedPaths()
    {
        var plan = PlanBuilder.ForInit(SpecFixtures.Default(), Ctx());
        var last = plan.Steps.FindLastIndex(s => s.Op == PlanOp.Mount);
        Assert.Equal("\"/\"", plan.Steps[last].Args[1].ToString());
        Assert.Equal(MountFlags.MS_BIND | MountFlags.MS_REMOUNT | MountFlags.MS_RDONLY, plan.Steps[last].Args[6].Value);
        Assert.True(last > plan.Steps.FindLastIndex(s => s.Op == PlanOp.MaskPath));
    }

    [Fact]
    public void MountsResolveInsideTheRoot()
    {
        var plan = PlanBuilder.ForInit(SpecFixtures.Default(), Ctx());
        var proc = plan.Steps.Single(s => s.Op == PlanOp.Mount && s.Args[1].ToString() == "\"/proc\"");
        Assert.True(proc.Flags.HasFlag(PlanFlags.InRoot));
        Assert.True(proc.Flags.HasFlag(PlanFlags.Mkdir));
        Assert.Equal("\"proc\"", proc.Args[2].ToString());
    }

    [Fact]
    public void DefaultDevicesAndSymlinksAreCreatedWhenDevIsTmpfs()
    {
        var plan = PlanBuilder.ForInit(SpecFixtures.Default(), Ctx());
        var nodes = plan.Steps.Where(s => s.Op == PlanOp.Mknod).Select(s => s.Args[0].ToString()).ToList();
        Assert.Equal(["\"/dev/null\"", "\"/dev/zero\"", "\"/dev/full\"", "\"/dev/random\"", "\"/dev/urandom\"", "\"/dev/tty\""], nodes);
        Assert.Contains(plan.Steps, s => s.Op == PlanOp.Symlink && s.Args[1].ToString() == "\"/dev/ptmx\"");
    }

    [Fact]
    public void SeccompComesEarlyWithoutNoNewPrivileges()
    {
        var spec = SpecFixtures.Default();
        var filter = new byte[8];
        var late = Ops(PlanBuilder.ForInit(spec, Ctx(filter)));
        Assert.True(late.IndexOf(PlanOp.Seccomp) > late.IndexOf(PlanOp.ExecFifo));
        spec.Process!.NoNewPrivileges = false;
        var early = Ops(PlanBuilder.ForInit(spec, Ctx(filter)));
        Assert.True(early.IndexOf(PlanOp.Seccomp) < early.IndexOf(PlanOp.CapsBounding));
    }

    [Fact]
    public void CapabilitiesBecomeMasks()
    {
        var plan = PlanBuilder.ForInit(SpecFixtures.Default(), Ctx());
        var capset = plan.Steps.Single(s => s.Op == PlanOp.CapSet);
        ulong expected = (1UL << 29) | (1UL << 5) | (1UL << 10); // AUDIT_WRITE, KILL, NET_BIND_SERVICE
        Assert.Equal(expected, capset.Args[0].Value);
        Assert.Equal(expected, capset.Args[1].Value);
    }

    [Fact]
    public void UnknownCapabilityIsAWarning()
    {
        var spec = SpecFixtures.Default();
        spec.Process!.Capabilities!.Effective!.Add("CAP_NOT_A_CAP");
        var ctx = Ctx();
        PlanBuilder.ForInit(spec, ctx);
        Assert.Contains(ctx.Warnings, w => w.Contains("CAP_NOT_A_CAP"));
    }

    [Fact]
    public void NewNetworkNamespaceGetsLoopbackUpJoinedOneDoesNot()
    {
        var ops = Ops(PlanBuilder.ForInit(SpecFixtures.Default(), Ctx()));
        Assert.Single(ops, o => o == PlanOp.LoopbackUp);
        Assert.True(ops.IndexOf(PlanOp.LoopbackUp) < ops.IndexOf(PlanOp.Exec));
        var joined = SpecFixtures.Default();
        joined.Linux!.Namespaces!.First(n => n.Type == "network").Path = "/proc/1/ns/net";
        Assert.DoesNotContain(PlanOp.LoopbackUp, Ops(PlanBuilder.ForInit(joined, Ctx())));
    }

    [Fact]
    public void JoinedNamespacesAreNotCloned()
    {
        var spec = SpecFixtures.Default();
        spec.Linux!.Namespaces!.First(n => n.Type == "network").Path = "/proc/1/ns/net";
        spec.Linux.Namespaces!.Add(new Spec.LinuxNamespace { Type = "user", Path = "/proc/1/ns/user" });
        var plan = PlanBuilder.ForInit(spec, Ctx());
        Assert.Equal(0UL, plan.CloneFlags & (ulong)Interop.Libc.CLONE_NEWNET);
        Assert.Equal((Interop.Libc.CLONE_NEWUSER, "/proc/1/ns/user"), plan.Joins[0]);
        Assert.Contains((Interop.Libc.CLONE_NEWNET, "/proc/1/ns/net"), plan.Joins);
    }

    [Fact]
    public void RunWithoutFifoExecsStraightAfterReady()
    {
        var ops = Ops(PlanBuilder.ForInit(SpecFixtures.Default(), Ctx(fifo: -1)));
        Assert.DoesNotContain(PlanOp.ExecFifo, ops);
        Assert.True(ops.IndexOf(PlanOp.Ready) < ops.IndexOf(PlanOp.Exec));
    }

    [Fact]
    public void TerminalNeedsConsoleSocket()
    {
        var spec = SpecFixtures.Default();
        spec.Process!.Terminal = true;
        var e = Assert.Throws<BerthException>(() => PlanBuilder.ForInit(spec, Ctx()));
        Assert.Contains("process.terminal", e.Message);
    }

    [Fact]
    public void BindMountOfAFileCreatesAFileTarget()
    {
        var file = Path.GetTempFileName();
        try
        {
            var spec = SpecFixtures.Default();
            spec.Mounts!.Add(new Spec.Mount { Destination = "/etc/x", Type = "bind", Source = file, Options = ["rbind", "ro"] });
            var plan = PlanBuilder.ForInit(spec, Ctx());
            var m = plan.Steps.Single(s => s.Op == PlanOp.Mount && s.Args[1].ToString() == "\"/etc/x\"");
            Assert.True(m.Flags.HasFlag(PlanFlags.Mkfile));
            Assert.Equal(MountFlags.MS_BIND | MountFlags.MS_REC, m.Args[3].Value);
            Assert.Equal(MountFlags.MS_BIND | MountFlags.MS_REMOUNT | MountFlags.MS_RDONLY, m.Args[6].Value);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void MissingBindSourceNamesTheMount()
    {
        var spec = SpecFixtures.Default();
        spec.Mounts!.Add(new Spec.Mount { Destination = "/x", Type = "bind", Source = "/does/not/exist", Options = ["bind"] });
        var e = Assert.Throws<BerthException>(() => PlanBuilder.ForInit(spec, Ctx()));
        Assert.Contains("mounts[4].source", e.Message);
        Assert.Equal(ErrorKind.InvalidParameter, e.Kind);
    }

    [Fact]
    public void EncodingHasHeaderAndRecords()
    {
        var plan = new ProcessPlan();
        plan.Add(PlanOp.SetHostname, PlanArg.Str("abc"));
        plan.Add(PlanOp.Umask, PlanArg.Int(18));
        var b = plan.Encode();
        Assert.Equal(0x4e4c5042u, BitConverter.ToUInt32(b, 0));
        Assert.Equal(1u, BitConverter.ToUInt32(b, 4));
        Assert.Equal(2u, BitConverter.ToUInt32(b, 8));
        Assert.Equal((ushort)PlanOp.SetHostname, BitConverter.ToUInt16(b, 12));
        Assert.Equal(1u, BitConverter.ToUInt32(b, 16));
        Assert.Equal(1, b[20]); // bytes
        Assert.Equal(3u, BitConverter.ToUInt32(b, 21));
        Assert.Equal("abc"u8.ToArray(), b[25..28]);
        Assert.Equal((ushort)PlanOp.Umask, BitConverter.ToUInt16(b, 28));
        Assert.Equal(0, b[36]); // integer
        Assert.Equal(18UL, BitConverter.ToUInt64(b, 37));
        Assert.Equal(45, b.Length);
    }

    [Fact]
    public void ListArgumentsAreNulTerminated()
    {
        Assert.Equal("a\0bc\0"u8.ToArray(), PlanArg.List(["a", "bc"]).Bytes);
    }
}
