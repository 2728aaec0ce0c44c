using System.Text;
using Berth.Api.Containers;
using Berth.Core;
using Berth.Engine.Containers.Create;
using Berth.Engine.Specs;

namespace Berth.Engine.Tests;

/// <summary>The create request's contract without a daemon: the strict reader, the honoured-or-refused check,
/// dockerd's value checks, and the merge with the image's defaults.</summary>
public sealed class CreateContractTests
{
    private static ContainerCreateBody Parse(string json) => CreateBodyParser.Parse(Encoding.UTF8.GetBytes(json));

    [Theory]
    [InlineData("""{"HostConfig":{"Memory":"64m"}}""", "HostConfig.Memory", "int64")]
    [InlineData("""{"Env":"A=1"}""", "Env", "")]
    [InlineData("""{"Labels":{"a":1}}""", "Labels", "")]
    [InlineData("""{"HostConfig":{"OomScoreAdj":1e99}}""", "HostConfig.OomScoreAdj", "")]
    [InlineData("""{"HostConfig":{"BlkioWeight":70000}}""", "HostConfig.BlkioWeight", "")]
    [InlineData("""{"Tty":"yes"}""", "Tty", "bool")]
    public void WrongTypesAreRefusedNamingTheField(string json, string field, string type)
    {
        var e = Assert.Throws<BerthException>(() => Parse(json));
        Assert.Equal(ErrorKind.InvalidParameter, e.Kind);
        Assert.Contains(field, e.Message);
        Assert.Contains(type, e.Message);
    }

    [Fact]
    public void GoLikeReading()
    {
        // Cmd and Entrypoint take a string or a list (strslice); names match without regard to case.
        var b = Parse("""{"image":"busybox","cmd":"echo hi","Entrypoint":["/bin/sh","-c"],"hostconfig":{"memory":67108864},"Future":1}""");
        Assert.Equal(("busybox", "echo hi", 67108864L), (b.Image, b.Cmd![0], b.HostConfig!.Memory));
        Assert.Equal(["/bin/sh", "-c"], b.Entrypoint);
        Assert.Throws<BerthException>(() => Parse("null"));
        Assert.Throws<BerthException>(() => Parse("[]"));
        Assert.Throws<BerthException>(() => CreateBodyParser.Parse([.. "{\"Image\":\""u8, 0xff, .. "\"}"u8]));
    }

    private static HostConfig Host(Action<HostConfig>? edit = null)
    {
        var h = new HostConfig();
        edit?.Invoke(h);
        return h;
    }

    public static TheoryData<string, Action<ContainerConfig, HostConfig>> Refused => new()
    {
        { "HostConfig.StorageOpt", (_, h) => h.StorageOpt = new() { ["size"] = "1G" } },
        { "HostConfig.Cgroup", (_, h) => h.Cgroup = "container:x" },
        { "Config.Shell", (c, _) => c.Shell = ["/bin/sh"] },
        { "HostConfig.LogConfig.Type", (_, h) => h.LogConfig.Type = "local" },
        { "HostConfig.LogConfig.Config", (_, h) => h.LogConfig.Config = new() { ["mode"] = "non-blocking" } },
        { "Config.OnBuild", (c, _) => c.OnBuild = ["RUN true"] },
    };

    [Theory]
    [MemberData(nameof(Refused))]
    public void UnhonouredFieldsAreRefusedByName(string field, Action<ContainerConfig, HostConfig> set)
    {
        var c = new ContainerConfig { Image = "busybox" };
        var h = Host();
        set(c, h);
        var e = Assert.Throws<BerthException>(() => CreateCheck.Validate(c, h, null));
        Assert.StartsWith(field + ":", e.Message);
        Assert.EndsWith("not implemented in Berth yet", e.Message);
    }

    [Fact]
    public void WhatTheCliSendsByDefaultPasses()
    {
        var b = Parse("""{"Hostname":"","Env":null,"Cmd":["true"],"Image":"busybox","Volumes":{},"Labels":{},"HostConfig":{"Binds":null,"LogConfig":{"Type":"","Config":{}},"NetworkMode":"default","PortBindings":{},"RestartPolicy":{"Name":"no","MaximumRetryCount":0},"Dns":[],"MemorySwappiness":-1,"OomKillDisable":false,"PidsLimit":0,"Ulimits":[],"Devices":[],"BlkioWeightDevice":[],"MaskedPaths":null},"NetworkingConfig":{"EndpointsConfig":{"default":{"IPAMConfig":null,"Links":null,"Aliases":null}}}}""");
        Assert.Empty(CreateCheck.Validate(b.ToConfig(), b.HostConfig!, b.NetworkingConfig));
    }

    [Theory]
    [InlineData("oom score adj", "OomScoreAdj", 1001)]
    [InlineData("Minimum memory limit allowed is 6MB", "Memory", 1024)]
    [InlineData("HostConfig.Memory", "Memory", -5)]
    [InlineData("Range of blkio weight", "BlkioWeight", 5)]
    [InlineData("CPU cfs period", "CpuPeriod", 10)]
    public void ValuesAreCheckedAtCreate(string message, string field, long value)
    {
        var h = Host(h =>
        {
            switch (field)
            {
                case "OomScoreAdj": h.OomScoreAdj = (int)value; break;
                case "Memory": h.Memory = value; break;
                case "BlkioWeight": h.BlkioWeight = (ushort)value; break;
                case "CpuPeriod": h.CpuPeriod = value; break;
            }
        });
        var e = Assert.Throws<BerthException>(() => CreateCheck.Validate(new ContainerConfig { Image = "b" }, h, null));
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void SwapBelowMemoryAndUnknownCpusAreRefused()
    {
        Assert.Contains("memoryswap", Assert.Throws<BerthException>(() =>
            CreateCheck.Validate(new ContainerConfig(), Host(h => { h.Memory = 64 << 20; h.MemorySwap = 32 << 20; }), null)).Message);
        Assert.Contains("not available", Assert.Throws<BerthException>(() =>
            CreateCheck.Validate(new ContainerConfig(), Host(h => h.CpusetCpus = "0-4095"), null)).Message);
        Assert.Contains("cpuset.cpus", Assert.Throws<BerthException>(() =>
            CreateCheck.Validate(new ContainerConfig(), Host(h => h.CpusetCpus = "1-x"), null)).Message);
    }

    [Theory]
    [InlineData("Config.Env")]
    [InlineData("Config.Cmd")]
    [InlineData("Config.WorkingDir")]
    [InlineData("Config.Hostname")]
    public void NulBytesAreRefused(string field)
    {
        var c = new ContainerConfig { Image = "b" };
        switch (field)
        {
            case "Config.Env": c.Env = ["FOO=a\0INJ=evil"]; break;
            case "Config.Cmd": c.Cmd = ["tr\0ue"]; break;
            case "Config.WorkingDir": c.WorkingDir = "/a\0b"; break;
            case "Config.Hostname": c.Hostname = "a\0b"; break;
        }
        Assert.StartsWith(field, Assert.Throws<BerthException>(() => CreateCheck.Validate(c, Host(), null)).Message);
    }

    [Fact]
    public void TheImagesDefaultsMergeAsDockerMergesThem()
    {
        var image = new ImageDefaults
        {
            Cmd = ["sh"], Entrypoint = ["/init"], Env = ["PATH=/bin", "A=image"], WorkingDir = "/w", User = "1",
            Labels = new Dictionary<string, string> { ["l"] = "image", ["m"] = "image" }, StopSignal = "SIGQUIT",
        };
        var c = new ContainerConfig { Env = ["A=mine", "B=b"], Labels = new() { ["l"] = "mine" } };
        ConfigMerge.WithImage(c, image);
        Assert.Equal(["PATH=/bin", "A=mine", "B=b"], c.Env);
        Assert.Equal(["sh"], c.Cmd);
        Assert.Equal(["/init"], c.Entrypoint);
        Assert.Equal(("/w", "1", "SIGQUIT"), (c.WorkingDir, c.User, c.StopSignal));
        Assert.Equal(new Dictionary<string, string> { ["l"] = "mine", ["m"] = "image" }, c.Labels);

        // An entrypoint of the container's own drops the image's Cmd; an empty one means none.
        var own = new ContainerConfig { Entrypoint = ["/bin/echo"] };
        ConfigMerge.WithImage(own, image);
        Assert.Null(own.Cmd);
        var none = new ContainerConfig { Entrypoint = [""], Cmd = ["x"] };
        ConfigMerge.WithImage(none, image);
        Assert.Equal((0, "x"), (none.Entrypoint!.Count, none.Cmd![0]));

        // The image's VOLUMEs join the request's.
        var withVolumes = new ContainerConfig { Volumes = new() { ["/mine"] = new EmptyObject() } };
        ConfigMerge.WithImage(withVolumes, new ImageDefaults { Volumes = ["/data"] });
        Assert.Equal(["/data", "/mine"], withVolumes.Volumes!.Keys.Order(StringComparer.Ordinal));
    }
}
