using System.Security.Cryptography;
using Berth.Daemon.Server;

namespace Berth.Daemon;

/// <summary>What handlers share: the options, the runtimes, the engine ID. Built once at start.</summary>
public sealed class DaemonState
{
    public DaemonState(DaemonOptions options, RuntimeCatalog runtimes, string engineId)
    {
        Options = options;
        Runtimes = runtimes;
        EngineId = engineId;
    }

    /// <summary>The engine as each router sees it (set up by the host after the directories exist; fakes in the
    /// router tests). Null until then: the routes answer 503.</summary>
    public Berth.Engine.Backends.IContainerBackend? Containers { get; set; }
    public Berth.Engine.Backends.IImageBackend? Images { get; set; }
    public Berth.Engine.Backends.ISystemBackend? System { get; set; }
    public Berth.Engine.Backends.IExecBackend? Exec { get; set; }
    public Berth.Engine.Backends.IVolumeBackend? Volumes { get; set; }

    /// <summary>The engine's event stream (containers, images, volumes, networks publish; /events reads).</summary>
    public Berth.Engine.Events.EngineEvents Events { get; } = new();
    public Berth.Engine.Backends.INetworkBackend? Networks { get; set; }

    public DaemonOptions Options { get; }
    public RuntimeCatalog Runtimes { get; }
    public string EngineId { get; }

    /// <summary>The engine ID, dockerd's shape (12 groups of 4 base32 characters), kept in data-root/engine-id.</summary>
    public static string LoadOrCreateEngineId(string dataRoot)
    {
        string path = Path.Combine(dataRoot, "engine-id");
        try
        {
            string existing = File.ReadAllText(path).Trim();
            if (existing.Length > 0) return existing;
        }
        catch (FileNotFoundException) { }
        catch (DirectoryNotFoundException) { }

        const string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
        Span<byte> random = stackalloc byte[48];
        RandomNumberGenerator.Fill(random);
        var chars = new char[48 + 11];
        for (int i = 0, j = 0; i < 48; i++)
        {
            if (i > 0 && i % 4 == 0) chars[j++] = ':';
            chars[j++] = alphabet[random[i] & 31];
        }
        string id = new(chars);
        string tmp = path + ".tmp";
        File.WriteAllText(tmp, id + "\n");
        File.Move(tmp, path, overwrite: true);
        return id;
    }
}
