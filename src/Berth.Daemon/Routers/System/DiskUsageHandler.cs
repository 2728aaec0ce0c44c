using System.Text.Json;
using Berth.Api.Images;
using Berth.Api.Volumes;
using Berth.Core;
using Berth.Daemon.Routers.Containers;

namespace Berth.Daemon.Routers.System;

/// <summary>
/// GET /system/df (dockerd 20.10's SystemDiskUsage, API v1.41): LayersSize, Images (with SharedSize and
/// Containers), Containers (the list's shape with SizeRw and SizeRootFs), Volumes (with UsageData: Size and
/// RefCount), BuildCache (null: Berth has no builder, so no build cache) and BuilderSize (0), in dockerd's key order.
/// </summary>
public static class DiskUsageHandler
{
    public static Task Handle(HttpContext ctx, DaemonState state)
    {
        var system = state.System ?? throw new BerthException(ErrorKind.Unavailable, "the container engine is not running");
        var report = system.DiskUsage();
        return ContainersRouter.WriteJson(ctx, w =>
        {
            w.WriteStartObject();
            w.WriteNumber("LayersSize", report.LayersSize);
            w.WritePropertyName("Images");
            w.WriteStartArray();
            foreach (var i in report.Images) JsonSerializer.Serialize(w, i, ImagesApiJsonContext.Api.ImageSummary);
            w.WriteEndArray();
            w.WritePropertyName("Containers");
            w.WriteStartArray();
            foreach (var c in report.Containers) ContainersRouter.WriteSummary(w, c.Container, c.SizeRw, c.SizeRootFs);
            w.WriteEndArray();
            w.WritePropertyName("Volumes");
            w.WriteStartArray();
            foreach (var v in report.Volumes) JsonSerializer.Serialize(w, v, VolumesApiJsonContext.Api.Volume);
            w.WriteEndArray();
            w.WriteNull("BuildCache");
            w.WriteNumber("BuilderSize", 0);
            w.WriteEndObject();
        });
    }
}
