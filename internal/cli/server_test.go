package cli

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"
)

func TestServerStart(t *testing.T) {
	run := func(args ...string) (int, []string, string) {
		var got []string
		called := false
		var errb bytes.Buffer
		code := Main(context.Background(), args, IO{Stdout: &bytes.Buffer{}, Stderr: &errb},
			Node{Serve: func(_ context.Context, a []string) int {
				called, got = true, a
				return 7
			}})
		if !called {
			got = nil
		}
		return code, got, errb.String()
	}
	for _, tc := range []struct {
		name string
		args []string
		code int
		want []string // serve's arguments; nil: serve must not run
		msg  string
	}{
		{"samsa server passes its arguments through", []string{"samsa", "server", "-c", "s.properties", "--override", "a=b"}, 7,
			[]string{"-c", "s.properties", "--override", "a=b"}, ""},
		{"kafka-server-start.sh translates to -c and --override", []string{"kafka-server-start.sh", "config/server.properties", "--override", "node.id=2", "--override=log.dirs=/d"}, 7,
			[]string{"-c", "config/server.properties", "--override", "node.id=2", "--override", "log.dirs=/d"}, ""},
		{"as a samsa subcommand", []string{"samsa", "kafka-server-start", "server.properties"}, 7,
			[]string{"-c", "server.properties"}, ""},
		{"-daemon asks serve to detach", []string{"kafka-server-start.sh", "-daemon", "server.properties", "--override", "a=b"}, 7,
			[]string{"--daemon", "-c", "server.properties", "--override", "a=b"}, ""},
		{"the properties file is required", []string{"kafka-server-start.sh"}, 2, nil, "USAGE: kafka-server-start.sh [-daemon] server.properties [--override property=value]*"},
		{"an override needs a value", []string{"kafka-server-start.sh", "s.properties", "--override", "novalue"}, 2, nil, "property=value"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, got, stderr := run(tc.args...)
			if code != tc.code || !slices.Equal(got, tc.want) || !strings.Contains(stderr, tc.msg) {
				t.Fatalf("code %d serve(%q) stderr %q; want code %d serve(%q) stderr containing %q", code, got, stderr, tc.code, tc.want, tc.msg)
			}
		})
	}
}
