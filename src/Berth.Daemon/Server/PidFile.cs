namespace Berth.Daemon.Server;

/// <summary>The daemon's pid file: written atomically (temp file + rename), refused while another live berthd
/// holds it, removed at shutdown only if it still names this process.</summary>
public sealed class PidFile : IDisposable
{
    private readonly string _path;
    private readonly int _pid;

    private PidFile(string path, int pid)
    {
        _path = path;
        _pid = pid;
    }

    public static PidFile Create(string path)
    {
        int self = Environment.ProcessId;
        string? dir = Path.GetDirectoryName(path);
        if (!string.IsNullOrEmpty(dir)) Directory.CreateDirectory(dir);
        if (File.Exists(path) && ReadPid(path) is int other && other != self && IsLiveBerthd(other))
            throw BerthException.Conflict($"pid file found, ensure berthd is not running or delete {path}: process with PID {other} is still running");

        string tmp = $"{path}.{self}.tmp";
        File.WriteAllText(tmp, self.ToString(System.Globalization.CultureInfo.InvariantCulture));
        File.Move(tmp, path, overwrite: true);
        return new PidFile(path, self);
    }

    public static int? ReadPid(string path)
    {
        try
        {
            return int.TryParse(File.ReadAllText(path).Trim(), out int pid) && pid > 0 ? pid : null;
        }
        catch (IOException)
        {
            return null;
        }
    }

    /// <summary>A live process that is berthd (the NativeAOT binary, or <c>dotnet berthd.dll</c>).</summary>
    public static bool IsLiveBerthd(int pid)
    {
        try
        {
            string cmdline = File.ReadAllText($"/proc/{pid}/cmdline");
            return cmdline.Contains("berthd", StringComparison.Ordinal);
        }
        catch (IOException)
        {
            return false;
        }
        catch (UnauthorizedAccessException)
        {
            return true;
        }
    }

    public void Dispose()
    {
        if (ReadPid(_path) == _pid)
        {
            try { File.Delete(_path); } catch (IOException) { }
        }
    }
}
