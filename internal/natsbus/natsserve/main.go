// Command natsserve runs vrlaif's embedded NATS server (natsbus.StartEmbedded) on its own, for
// benchmarks with `nats bench` (scripts/bench-nats.sh) and for trying actors by hand. It prints
// the client URL on stdout and serves until SIGINT or SIGTERM.
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"syscall"

	"github.com/vrlaif/vrlaif/internal/natsbus"
)

func main() {
	dir := flag.String("dir", "", "JetStream store folder (required)")
	port := flag.Int("port", 0, "port (0: a free one)")
	flag.Parse()
	if *dir == "" {
		log.Fatal("natsserve: -dir is required")
	}
	var opts []natsbus.ServerOption
	if *port != 0 {
		opts = append(opts, natsbus.WithPort(*port))
	}
	s, err := natsbus.StartEmbedded(*dir, opts...)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(s.ClientURL())
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	<-sig
	s.Shutdown()
}
