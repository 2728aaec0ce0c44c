using System.Diagnostics;
using Berth.Core;
using Berth.Engine.Volumes.Drivers;

namespace Berth.Engine.Tests.Volumes;

/// <summary>
/// Volume plugins over Docker's plugin protocol, against a real plugin process (tests/testdata/volume-plugin/plugin.py:
/// python3's http.server on a unix socket or loopback TCP, volumes as directories). The plugins directory is the
/// test's own (never /run/docker/plugins).
/// </summary>
public sealed class PluginDriverTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("berth-plug-").FullName;
    private readonly List<Process> _plugins = [];
    private static readonly PluginTimeouts Fast = new(TimeSpan.FromSeconds(20), TimeSpan.FromSeconds(20), TimeSpan.FromSeconds(20));

    private string PluginsDir => Path.Combine(_dir, "plugins");
    private PluginDiscovery Discovery => new(PluginsDir, [PluginsDir]);

    public PluginDriverTests() => Directory.CreateDirectory(PluginsDir);

    public void Dispose()
    {
        foreach (var p in _plugins)
        {
            try { p.Kill(); p.WaitForExit(5000); } catch (InvalidOperationException) { }
            p.Dispose();
        }
        Directory.Delete(_dir, recursive: true);
    }

    private string Root(string name) => Path.Combine(_dir, "data-" + name);

    /// <summary>Starts the plugin; waits for "ready" unless <paramref name="wait"/> is false.</summary>
    private Process Start(string name, bool wait = true, params string[] args)
    {
        var psi = new ProcessStartInfo("python3") { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "testdata", "volume-plugin", "plugin.py"));
        psi.ArgumentList.Add("--root");
        psi.ArgumentList.Add(Root(name));
        foreach (var a in args) psi.ArgumentList.Add(a);
        if (!args.Contains("--tcp") && !args.Contains("--unix"))
        {
            psi.ArgumentList.Add("--unix");
            psi.ArgumentList.Add(Path.Combine(PluginsDir, name + ".sock"));
        }
        var p = Process.Start(psi)!;
        _plugins.Add(p);
        p.ErrorDataReceived += (_, _) => { };
        p.BeginErrorReadLine();
        if (wait)
        {
            var line = p.StandardOutput.ReadLine();
            Assert.True(line == "ready", "the plugin did not start: " + line);
        }
        return p;
    }

    [Fact]
    public void Create_mount_path_unmount_remove_list_get_and_capabilities()
    {
        Start("tvol");
        using var driver = PluginDriver.Activate("tvol", Discovery, Fast);
        Assert.Equal("tvol", driver.Name);
        Assert.Equal("global", driver.Scope);

        driver.Create("v1", "", new Dictionary<string, string> { ["k"] = "v" });
        driver.Create("v2", "", new Dictionary<string, string>());
        Assert.Equal(["v1", "v2"], driver.List().Select(v => v.Name));
        Assert.Equal("", driver.Path("v1", ""));

        var mp = driver.Mount("v1", "", "c1");
        Assert.Equal(Path.Combine(Root("tvol"), "volumes", "v1"), mp);
        Assert.True(Directory.Exists(mp));
        Assert.Equal(mp, driver.Path("v1", ""));
        var got = driver.Get("v1", "")!;
        Assert.Equal(("v1", mp), (got.Name, got.Mountpoint));
        Assert.Equal(1, got.Status!["mounts"].GetInt32());

        var busy = Assert.ThrowsAny<BerthException>(() => driver.Remove("v1", ""));
        Assert.Equal("VolumeDriver.Remove: volume v1 is in use", busy.Message);
        driver.Unmount("v1", "", "c1");
        Assert.Equal("", driver.Path("v1", ""));
        driver.Remove("v1", "");
        Assert.False(Directory.Exists(mp));
        Assert.Equal(["v2"], driver.List().Select(v => v.Name));
        var gone = Assert.ThrowsAny<BerthException>(() => driver.Get("v1", ""));
        Assert.Equal("VolumeDriver.Get: volume v1 not found", gone.Message);

        // What the plugin was sent (it answers 400 to a request without the plugin Accept header).
        var log = File.ReadAllLines(Path.Combine(Root("tvol"), "requests.log"));
        Assert.Equal("Plugin.Activate ", log[0]);
        Assert.Contains("VolumeDriver.Create {\"Name\":\"v1\",\"Opts\":{\"k\":\"v\"}}", log);
        Assert.Contains("VolumeDriver.Mount {\"Name\":\"v1\",\"ID\":\"c1\"}", log);
    }

    [Fact]
    public void Plugin_errors_are_worded_as_dockerd()
    {
        Start("errs");
        using var driver = PluginDriver.Activate("errs", Discovery, Fast);
        var status500 = Assert.ThrowsAny<BerthException>(() => driver.Create("v", "", new Dictionary<string, string> { ["fail"] = "no space on the array" }));
        Assert.Equal("VolumeDriver.Create: no space on the array", status500.Message);
        var status200 = Assert.ThrowsAny<BerthException>(() => driver.Create("v", "", new Dictionary<string, string> { ["failok"] = "quota exceeded" }));
        Assert.Equal("quota exceeded", status200.Message);
        var unknown = Assert.ThrowsAny<BerthException>(() => driver.Mount("nosuch", "", "c1"));
        Assert.Equal("VolumeDriver.Mount: volume nosuch not found", unknown.Message);
    }

    [Theory]
    [InlineData("none", "local")]
    [InlineData("GLOBAL", "global")]
    [InlineData("cluster", "local")]
    public void Scope_is_local_when_the_plugin_has_no_capabilities_or_an_unknown_scope(string answer, string scope)
    {
        Start("caps", true, "--scope", answer);
        using var d = PluginDriver.Activate("caps", Discovery, Fast);
        Assert.Equal(scope, d.Scope);
    }

    [Theory]
    [InlineData("nope")]
    [InlineData("../plugins/x")]
    [InlineData("vieux/sshfs:latest")]
    public void A_plugin_that_is_not_there_is_dockers_not_found(string name)
    {
        var ex = Assert.Throws<BerthException>(() => PluginDriver.Activate(name, Discovery, Fast));
        Assert.Equal(ErrorKind.NotFound, ex.Kind);
        Assert.Equal($"error looking up volume plugin {name}: plugin \"{name}\" not found", ex.Message);
    }

    [Fact]
    public void A_plugin_that_implements_another_interface_is_refused()
    {
        Start("netonly", true, "--implements", "NetworkDriver");
        var ex = Assert.Throws<BerthException>(() => PluginDriver.Activate("netonly", Discovery, Fast));
        Assert.Equal("error looking up volume plugin netonly: Plugin does not implement the requested driver", ex.Message);
    }

    [Fact]
    public void Spec_files_name_unix_and_tcp_addresses()
    {
        // NAME.spec with a unix:// URL to a socket elsewhere, and NAME/NAME.json with a tcp Addr.
        var sock = Path.Combine(_dir, "elsewhere.sock");
        Start("specunix", true, "--unix", sock);
        File.WriteAllText(Path.Combine(PluginsDir, "specunix.spec"), "unix://" + sock + "\n");
        using (var d = PluginDriver.Activate("specunix", Discovery, Fast))
        {
            d.Create("u", "", new Dictionary<string, string>());
            Assert.Equal(["u"], d.List().Select(v => v.Name));
        }

        var tcpSpec = Path.Combine(_dir, "tcp.spec");
        Start("spectcp", true, "--tcp", tcpSpec);
        var addr = File.ReadAllText(tcpSpec).Trim();
        Assert.StartsWith("tcp://127.0.0.1:", addr);
        Directory.CreateDirectory(Path.Combine(PluginsDir, "spectcp"));
        File.WriteAllText(Path.Combine(PluginsDir, "spectcp", "spectcp.json"), $"{{\"Name\":\"spectcp\",\"Addr\":\"{addr}\"}}");
        using (var d = PluginDriver.Activate("spectcp", Discovery, Fast))
        {
            d.Create("t", "", new Dictionary<string, string>());
            Assert.EndsWith("/volumes/t", d.Mount("t", "", "c1"));
        }
    }

    [Fact]
    public void Activation_is_retried_until_the_plugin_listens()
    {
        var sock = Path.Combine(_dir, "late.sock");
        File.WriteAllText(Path.Combine(PluginsDir, "late.spec"), "unix://" + sock);
        Start("late", false, "--unix", sock, "--delay", "1.5");
        var sw = Stopwatch.StartNew();
        using var d = PluginDriver.Activate("late", Discovery, Fast);
        Assert.True(sw.Elapsed > TimeSpan.FromSeconds(0.9), "activation waited for the plugin");
        Assert.Equal("global", d.Scope);
    }

    [Fact]
    public void A_plugin_that_never_listens_is_unavailable_after_the_retry_budget()
    {
        File.WriteAllText(Path.Combine(PluginsDir, "dead.spec"), "unix://" + Path.Combine(_dir, "dead.sock"));
        var sw = Stopwatch.StartNew();
        var ex = Assert.Throws<BerthException>(() => PluginDriver.Activate("dead", Discovery,
            new PluginTimeouts(TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(2))));
        Assert.Equal(ErrorKind.Unavailable, ex.Kind);
        Assert.StartsWith("error looking up volume plugin dead: Plugin.Activate: plugin dead is not reachable", ex.Message);
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(10));
    }

    [Fact]
    public void A_call_that_outlives_its_timeout_fails_and_is_not_repeated()
    {
        Start("slow");
        using var d = PluginDriver.Activate("slow", Discovery, new PluginTimeouts(TimeSpan.FromSeconds(20), TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(20)));
        d.Create("s", "", new Dictionary<string, string> { ["slow"] = "3" }); // Create answers at once; Mount sleeps 3 s
        var ex = Assert.ThrowsAny<BerthException>(() => d.Mount("s", "", "c1"));
        Assert.Equal("VolumeDriver.Mount: plugin slow did not answer within 1s", ex.Message);
        Assert.Single(File.ReadAllLines(Path.Combine(Root("slow"), "requests.log")), l => l.StartsWith("VolumeDriver.Mount"));
    }

    [Fact]
    public void The_registry_activates_a_plugin_once_and_honours_BERTH_PLUGINS_DIR()
    {
        Start("once");
        using var plugins = new VolumePlugins(Discovery, Fast);
        Assert.Same(plugins.Get("once"), plugins.Get("once"));
        Assert.Single(File.ReadAllLines(Path.Combine(Root("once"), "requests.log")), l => l.StartsWith("Plugin.Activate"));

        var before = Environment.GetEnvironmentVariable(PluginDiscovery.EnvironmentVariable);
        try
        {
            Environment.SetEnvironmentVariable(PluginDiscovery.EnvironmentVariable, PluginsDir);
            Assert.Equal(new Uri("unix://" + Path.Combine(PluginsDir, "once.sock")), PluginDiscovery.FromEnvironment().Find("once"));
            Environment.SetEnvironmentVariable(PluginDiscovery.EnvironmentVariable, null);
            Assert.Equal("/run/docker/plugins", PluginDiscovery.FromEnvironment().SocketsDir);
        }
        finally { Environment.SetEnvironmentVariable(PluginDiscovery.EnvironmentVariable, before); }
    }
}
