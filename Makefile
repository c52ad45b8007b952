# The two commands of the README. Both set up a fresh Debian 12 machine first.
.PHONY: run test bench package cluster

run:   ## server with the demo data + the desktop app
	scripts/run.sh

test:  ## every check: fmt, clippy, UI tests, Rust tests, desktop e2e under Xvfb
	scripts/test.sh

bench: ## benchmarks that print their figures
	scripts/bench.sh

package: ## a .deb of the desktop app (tauri build)
	scripts/package.sh

cluster: ## 3 server instances on one private Postgres + NATS (CLUSTER_SMOKE=1: check once, stop)
	scripts/cluster.sh
