using Berth.Core;

namespace Berth.Images.Tests;

public class ChangesParserTests
{
    [Fact]
    public void Parses_docker_import_changes()
    {
        var c = ImageConfigChangesParser.Parse([
            "CMD [\"sh\", \"-c\", \"echo hi\"]",
            "ENTRYPOINT /init --flag",
            "ENV A=1 B=\"two words\"",
            "ENV A=3",
            "ENV LEGACY some value",
            "LABEL com.example=\"x y\" z=1",
            "EXPOSE 80 53/udp",
            "VOLUME [\"/data\"]",
            "WORKDIR /srv",
            "USER nobody",
            "STOPSIGNAL SIGINT",
        ], "msg");
        Assert.Equal(["sh", "-c", "echo hi"], c.Cmd);
        Assert.Equal(["/bin/sh", "-c", "/init --flag"], c.Entrypoint);
        Assert.Equal(["B=two words", "A=3", "LEGACY=some value"], c.Env);
        Assert.Equal("x y", c.Labels!["com.example"]);
        Assert.Equal(["80", "53/udp"], c.ExposedPorts);
        Assert.Equal(["/data"], c.Volumes);
        Assert.Equal("/srv", c.WorkingDir);
        Assert.Equal("nobody", c.User);
        Assert.Equal("SIGINT", c.StopSignal);
        Assert.Equal("msg", c.Comment);

        using var tmp = new TempDir();
        var store = new ImageStore(tmp.Path);
        var id = store.Import(new TarBuilder().File("f", "x").Stream(), null, c);
        var cfg = store.Inspect(id).Config!;
        Assert.Contains("80/tcp", cfg.ExposedPorts!.Keys);
        Assert.Contains("53/udp", cfg.ExposedPorts.Keys);
        Assert.Equal("msg", store.Inspect(id).Comment);
        Assert.Empty(store.Inspect(id).RepoTags);
    }

    [Fact]
    public void Rejects_unknown_and_malformed()
    {
        Assert.Equal("RUN is not a valid change command",
            Assert.Throws<BerthException>(() => ImageConfigChangesParser.Parse(["RUN rm -rf /"])).Message);
        Assert.Equal(ErrorKind.InvalidParameter, Assert.Throws<BerthException>(() => ImageConfigChangesParser.Parse(["CMD [\"a\", 1]"])).Kind);
        Assert.Equal(ErrorKind.InvalidParameter, Assert.Throws<BerthException>(() => ImageConfigChangesParser.Parse(["ENV A=1 =2"])).Kind);
    }
}
