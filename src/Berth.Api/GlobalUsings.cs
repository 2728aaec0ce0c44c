global using System.Text.Encodings.Web;
global using System.Text.Json;
global using System.Text.Json.Serialization;
