package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The seed documents' log pipeline (the Flume case study): a shipper tails a
// log file and produces each new line to topic test with acks=1, given the
// three brokers as its broker list, and Kafka's console consumer prints the
// lines. The documents use Flume's KafkaSink, a Java producer; Flume cannot
// be installed here, so rsyslog plays the shipper: imfile tails the file and
// omkafka (librdkafka) produces, configured as the seed configures the sink.

// sogouLines are the seed's test data: its first line verbatim, and two more
// as it says to append three.
var sogouLines = []string{
	"00:00:100971413028304674[火炬传递路线时间]1 2www.olympic.cn/news/beijing/2008-03-19/1417291.html",
	"00:00:100971413028304675[北京奥运会门票]2 1www.beijing2008.cn/tickets/",
	"00:00:100971413028304676[火炬手名单]1 3news.sina.com.cn/c/2008-03-20/torch.shtml",
}

// checkLogPipeline ships sogouLines into topic through rsyslog and checks
// that a console consumer reading the topic from its start prints each of
// them, whole, besides what the topic already held.
func checkLogPipeline(t *testing.T, tools, topic string, brokers []string) {
	dir := t.TempDir()
	logFile := filepath.Join(dir, "sogou.log")
	writeFile(t, logFile, "")
	if err := os.Mkdir(filepath.Join(dir, "work"), 0o755); err != nil {
		t.Fatal(err)
	}
	quoted := make([]string, len(brokers))
	for i, b := range brokers {
		quoted[i] = fmt.Sprintf("%q", b)
	}
	conf := filepath.Join(dir, "rsyslog.conf")
	writeFile(t, conf, fmt.Sprintf(`global(workDirectory=%q)
module(load="imfile")
module(load="omkafka")
input(type="imfile" file=%q tag="sogou" ruleset="to-kafka")
template(name="line" type="string" string="%%msg%%")
ruleset(name="to-kafka") {
  action(type="omkafka" topic=%q broker=[%s] template="line" confParam=["acks=1"])
}
`, filepath.Join(dir, "work"), logFile, topic, strings.Join(quoted, ",")))
	rsyslogd := needRsyslog(t, conf)

	consumer := startTool(t, filepath.Join(tools, "kafka-console-consumer.sh"),
		"--bootstrap-server", brokers[0], "--topic", topic, "--from-beginning")
	startTool(t, rsyslogd, "-n", "-f", conf, "-i", filepath.Join(dir, "rsyslogd.pid"))

	f, err := os.OpenFile(logFile, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, line := range sogouLines {
		if _, err := f.WriteString(line + "\n"); err != nil {
			t.Fatal(err)
		}
	}
	waitUntil(t, 60*time.Second, "the console consumer prints the three log lines", func() error {
		got := consumer.Lines()
		for _, want := range sogouLines {
			if n := countOf(got, want); n != 1 {
				return fmt.Errorf("%q printed %d times; the consumer printed:\n%s", want, n, strings.Join(got, "\n"))
			}
		}
		return nil
	})
}

// needRsyslog returns rsyslogd's path once it has accepted conf, which loads
// imfile and omkafka.
func needRsyslog(t *testing.T, conf string) string {
	t.Helper()
	path, err := exec.LookPath("rsyslogd")
	if err != nil {
		// Debian installs it in /usr/sbin, which a user's PATH may lack.
		path = "/usr/sbin/rsyslogd"
	}
	if _, err := os.Stat(path); err != nil {
		missingClient(t, "rsyslogd", "rsyslog-kafka")
	}
	if r := runTool(t, 30*time.Second, "", path, "-N1", "-f", conf); r.Err != nil {
		missingClient(t, "rsyslog with its omkafka module ("+strings.TrimSpace(r.Stderr+r.Stdout)+")", "rsyslog-kafka")
	}
	return path
}

func countOf(lines []string, s string) int {
	n := 0
	for i := range lines {
		if lines[i] == s {
			n++
		}
	}
	return n
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
