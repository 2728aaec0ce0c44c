using System.Net.Sockets;

namespace Berth.Engine.Containers;

public sealed partial class ContainerManager
{
    /// <summary>
    /// Connects to the monitor's attach.sock: now if the container runs, else just before its process starts (the
    /// socket exists from then on; the CLI attaches before it starts, and nothing is missed). Null when the
    /// container exits, or its start fails, before a connection was made.
    /// </summary>
    public async Task<Socket?> AttachAsync(string id)
    {
        var c = Store.Get(id);
        Publish(c, "attach");
        var connected = new TaskCompletionSource<Socket?>(TaskCreationOptions.RunContinuationsAsynchronously);
        async Task Connect()
        {
            var s = await Berth.Interop.UnixSocket.ConnectAsync(AttachSocket(c.Id));
            if (!connected.TrySetResult(s)) s.Dispose();
        }
        if (c.State.Running)
        {
            try { await Connect(); }
            catch (SocketException) { connected.TrySetResult(null); } // exited meanwhile
        }
        else
        {
            // A start that fails (or a run that ends before we connect) ends this attach.
            _ = NextExit(c.Id).ContinueWith(_ => connected.TrySetResult(null), TaskScheduler.Default);
            OnBeforeStart(c.Id, Connect);
        }
        return await connected.Task;
    }
}
