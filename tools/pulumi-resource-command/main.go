// pulumi-resource-command is a small stand-in for pulumi/pulumi-command's provider plugin, serving the resource
// `command:local:Command` of the npm package @pulumi/command 1.2.1 to the engine.
//
// Why not the real one: its main package lived in the module github.com/pulumi/pulumi-command/provider at the v1.2.1
// tag, a module without tags, and the Go module proxy these machines reach serves no version of it (every
// pseudo-version is refused), while the root module at v1.2.1 excludes provider/. So this build implements the part
// of the resource's contract that the project uses, with the same inputs, outputs and update rules (see command.go),
// on the Pulumi Go SDK of the CLI's release.
package main

import (
	"fmt"
	"os"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
)

// version is what GetPluginInfo reports; the toolchain script sets it with -ldflags "-X main.version=...".
var version = "1.2.1"

func main() {
	// The engine starts a plugin with its own address as the last argument and reads the port we print.
	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Init: func(srv *grpc.Server) error {
			pulumirpc.RegisterResourceProviderServer(srv, plugin.NewProviderServer(&commandProvider{version: version}))
			return nil
		},
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "pulumi-resource-command: could not start the gRPC server: %v\n", err)
		os.Exit(1)
	}
	fmt.Printf("%d\n", handle.Port)
	if err := <-handle.Done; err != nil {
		fmt.Fprintf(os.Stderr, "pulumi-resource-command: gRPC server stopped: %v\n", err)
		os.Exit(1)
	}
}
