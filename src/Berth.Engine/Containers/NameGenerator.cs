namespace Berth.Engine.Containers;

/// <summary>Docker-style random names: "adjective_noun" (a word list of our own, not Docker's).</summary>
public static class NameGenerator
{
    private static readonly string[] Left =
    [
        "agile", "amber", "ancient", "bold", "brave", "bright", "calm", "clever", "cosmic", "crisp", "daring", "eager",
        "elegant", "fearless", "fluent", "gentle", "glad", "golden", "graceful", "happy", "hidden", "humble", "jolly",
        "keen", "kind", "lively", "lucid", "lucky", "merry", "mighty", "modest", "nimble", "noble", "patient", "polite",
        "proud", "quick", "quiet", "rapid", "serene", "sharp", "shiny", "silent", "smart", "steady", "swift", "tender",
        "tidy", "vivid", "warm", "wise", "witty", "zealous",
    ];

    private static readonly string[] Right =
    [
        "anchor", "beacon", "birch", "bosun", "breeze", "buoy", "cabin", "canal", "cargo", "compass", "coral", "crane",
        "current", "delta", "dock", "dune", "estuary", "ferry", "fjord", "galley", "gull", "harbor", "helm", "island",
        "jetty", "keel", "lagoon", "lantern", "lighthouse", "mast", "mooring", "narrows", "oar", "pier", "pilot", "quay",
        "reef", "rudder", "sail", "schooner", "shoal", "skiff", "sloop", "sound", "strait", "tide", "tugboat", "wake",
        "wharf", "yacht",
    ];

    public static string Next(Func<string, bool> taken)
    {
        for (int attempt = 0; ; attempt++)
        {
            var name = $"{Left[Random.Shared.Next(Left.Length)]}_{Right[Random.Shared.Next(Right.Length)]}";
            if (attempt > 10) name += Random.Shared.Next(10);
            if (!taken(name)) return name;
        }
    }
}
