// Package kfakeserver runs franz-go's in-memory kfake cluster as a process,
// as the baseline that bench/compare.sh measures samsa against. kfake is a
// test-only dependency, so the server is a test: it runs only when
// SAMSA_KFAKE_ADDR names the address to listen on, and serves until killed.
package kfakeserver
