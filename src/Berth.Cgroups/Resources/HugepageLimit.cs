namespace Berth.Cgroups;

/// <summary>A hugetlb limit; <see cref="PageSize"/> is the kernel's spelling, e.g. "2MB", "1GB".</summary>
public sealed record HugepageLimit(string PageSize, ulong Limit);
