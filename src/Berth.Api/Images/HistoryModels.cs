namespace Berth.Api.Images;

/// <summary>One entry of GET /images/{name}/history (Docker's image.HistoryResponseItem, its field order).</summary>
public sealed class HistoryResponseItem
{
    public string Comment { get; set; } = "";
    public long Created { get; set; }
    public string CreatedBy { get; set; } = "";
    public string Id { get; set; } = "<missing>";
    public long Size { get; set; }
    public List<string>? Tags { get; set; }
}
