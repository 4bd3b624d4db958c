package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/twmb/franz-go/pkg/kerr"
)

// output.go holds what the samsa nouns print: aligned tables with upper-case
// headers (TOPIC STATUS, NAME PARTITIONS REPLICAS, …), key/value sections,
// JSON, and error texts that name the Kafka error. The Kafka personalities
// print their own formats and do not use these.

// table writes rows whose columns line up, two spaces apart.
type table struct{ tw *tabwriter.Writer }

func newTable(w io.Writer, headers ...string) *table {
	t := &table{tw: tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)}
	if len(headers) > 0 {
		t.row(anySlice(headers)...)
	}
	return t
}

func anySlice(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

func (t *table) row(cols ...any) {
	parts := make([]string, len(cols))
	for i, c := range cols {
		parts[i] = fmt.Sprint(c)
	}
	fmt.Fprintln(t.tw, strings.Join(parts, "\t"))
}

func (t *table) flush() { t.tw.Flush() }

// section prints an upper-case heading underlined with '=', as the describe
// commands separate their parts.
func section(w io.Writer, name string) {
	fmt.Fprintf(w, "%s\n%s\n", name, strings.Repeat("=", len(name)))
}

// writeJSON prints v as indented JSON followed by a newline.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// kafkaErrText is "NAME: message" for a Kafka error code, using the broker's
// message when it sent one and the protocol's description otherwise. Other
// errors print as they are.
func kafkaErrText(err error, brokerMsg string) string {
	var ke *kerr.Error
	if errors.As(err, &ke) {
		msg := brokerMsg
		if msg == "" {
			msg = ke.Description
		}
		return ke.Message + ": " + msg
	}
	if brokerMsg != "" {
		return err.Error() + ": " + brokerMsg
	}
	return err.Error()
}

// int32List prints 1,2,3.
func int32List(ids []int32) string {
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = strconv.Itoa(int(id))
	}
	return strings.Join(parts, ",")
}

// formatFlag is the --format flag of commands that can print JSON.
func formatFlag(f *flagSet) *string {
	return f.String("format", "text", "text|json", "output format")
}

func checkFormat(format string) error {
	if format != "text" && format != "json" {
		return usagef("--format must be text or json, not %q", format)
	}
	return nil
}
