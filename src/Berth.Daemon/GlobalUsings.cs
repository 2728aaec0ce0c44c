global using Berth.Api;
global using Berth.Core;
