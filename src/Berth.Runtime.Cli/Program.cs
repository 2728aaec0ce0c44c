return Berth.Runtime.Cli.Cli.Run(args);
