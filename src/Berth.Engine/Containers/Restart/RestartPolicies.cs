using Berth.Api.Containers;
using Berth.Core;

namespace Berth.Engine.Containers.Restart;

/// <summary>Docker's restart policies: no, always, unless-stopped, on-failure[:N] (dockerd's validateRestartPolicy).</summary>
public static class RestartPolicies
{
    public static void Validate(RestartPolicy p)
    {
        switch (p.Name)
        {
            case "always" or "unless-stopped" or "no":
                if (p.MaximumRetryCount != 0)
                    throw BerthException.Invalid($"maximum retry count cannot be used with restart policy '{p.Name}'");
                break;
            case "on-failure":
                if (p.MaximumRetryCount < 0) throw BerthException.Invalid("maximum retry count cannot be negative");
                break;
            case "":
                break;
            default:
                throw BerthException.Invalid($"invalid restart policy '{p.Name}'");
        }
    }

    public static bool IsNone(RestartPolicy p) => p.Name is "" or "no";
}

/// <summary>
/// dockerd's restartmanager for one container: whether an exit restarts it and after what delay. The delay starts
/// at 100 ms and doubles with each restart, up to a minute; a run of 10 s or more resets it. always restarts
/// whatever happened (a user's stop cancels that one exit); unless-stopped unless the user stopped it; on-failure
/// on a non-zero exit code, at most N times (0: no maximum).
/// </summary>
public sealed class RestartBackoff
{
    public static readonly TimeSpan Initial = TimeSpan.FromMilliseconds(100), Max = TimeSpan.FromMinutes(1), ResetAfter = TimeSpan.FromSeconds(10);

    private TimeSpan _timeout;

    /// <summary>The delay before the next start, or null when the exit does not restart the container.</summary>
    public TimeSpan? Decide(RestartPolicy policy, int exitCode, bool manuallyStopped, int restartCount, TimeSpan ran)
    {
        if (RestartPolicies.IsNone(policy)) return null;
        if (ran >= ResetAfter) _timeout = TimeSpan.Zero;
        _timeout = _timeout == TimeSpan.Zero ? Initial : _timeout < Max ? _timeout * 2 : _timeout;
        if (_timeout > Max) _timeout = Max;
        bool restart = policy.Name switch
        {
            "always" => true,
            "unless-stopped" => !manuallyStopped,
            "on-failure" => (policy.MaximumRetryCount == 0 || restartCount < policy.MaximumRetryCount) && exitCode != 0,
            _ => false,
        };
        return restart ? _timeout : null;
    }
}
