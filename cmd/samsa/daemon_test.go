package main

import (
	"os"
	"path/filepath"
	"testing"
)

func TestDaemonLogDir(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "kafka", "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bin, "kafka-server-start.sh"), nil, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin)
	cwd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ invoked, env, want string }{
		{"/opt/kafka/bin/kafka-server-start.sh", "/var/log/kafka", "/var/log/kafka"},
		{"/opt/kafka/bin/kafka-server-start.sh", "", "/opt/kafka/logs"},
		{"bin/samsa", "", filepath.Join(cwd, "logs")},
		{"kafka-server-start.sh", "", filepath.Join(filepath.Dir(bin), "logs")}, // found on PATH
	} {
		if got := daemonLogDir(tc.invoked, tc.env); got != tc.want {
			t.Errorf("daemonLogDir(%q, LOG_DIR=%q) = %q, want %q", tc.invoked, tc.env, got, tc.want)
		}
	}
}
