namespace Berth.Api.Streams;

/// <summary>
/// Docker's detach keys (moby/term ToBytes): comma-separated keys, each a single character, ctrl-[a-z@[\]^_] or
/// DEL; the default ctrl-p,ctrl-q. <see cref="Scanner"/> is the escape proxy: it passes input on, holds back a
/// partial match, and says when the whole sequence was typed (it is then swallowed).
/// </summary>
public static class DetachKeys
{
    public const string Default = "ctrl-p,ctrl-q";

    /// <summary>The bytes of <paramref name="keys"/>; false with moby's message ("Unknown character: 'x'") if invalid.</summary>
    public static bool TryParse(string keys, out byte[] codes, out string error)
    {
        var list = new List<byte>();
        error = "";
        foreach (var key in keys.Split(','))
        {
            if (key.Length == 1 && key[0] < 128) { list.Add((byte)key[0]); continue; }
            if (key == "DEL") { list.Add(127); continue; }
            if (key.Length == 6 && key.StartsWith("ctrl-", StringComparison.OrdinalIgnoreCase))
            {
                char c = char.ToLowerInvariant(key[5]);
                if (c is >= 'a' and <= 'z') { list.Add((byte)(c - 'a' + 1)); continue; }
                int special = "@[\\]^_".IndexOf(c);
                if (special >= 0) { list.Add(special == 0 ? (byte)0 : (byte)(26 + special)); continue; }
            }
            codes = [];
            error = $"Unknown character: '{key}'";
            return false;
        }
        codes = [.. list];
        return true;
    }

    /// <summary>The escape proxy over one input stream.</summary>
    public sealed class Scanner(byte[] sequence)
    {
        private int _matched;

        /// <summary>
        /// Feeds <paramref name="input"/>; writes what is to be passed on into <paramref name="output"/> (at most
        /// input.Length + sequence length bytes) and returns its length, or -1 when the sequence is complete
        /// (detach: nothing more is passed on).
        /// </summary>
        public int Feed(ReadOnlySpan<byte> input, Span<byte> output)
        {
            int o = 0;
            if (sequence.Length == 0)
            {
                input.CopyTo(output);
                return input.Length;
            }
            foreach (var b in input)
            {
                if (b == sequence[_matched])
                {
                    if (++_matched == sequence.Length) return -1;
                    continue;
                }
                // The held-back prefix was not the sequence after all: it goes on, then this byte (which may start it again).
                for (int i = 0; i < _matched; i++) output[o++] = sequence[i];
                _matched = 0;
                if (b == sequence[0])
                {
                    _matched = 1;
                    if (sequence.Length == 1) return -1;
                }
                else
                {
                    output[o++] = b;
                }
            }
            return o;
        }
    }
}
