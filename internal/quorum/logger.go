package quorum

import (
	"fmt"
	"log/slog"
)

// raftLogger adapts slog to raft's Logger. Raft's Fatal and Panic both
// panic: a library never exits the process.
type raftLogger struct{ l *slog.Logger }

func (r raftLogger) Debug(v ...any)                 { r.l.Debug(fmt.Sprint(v...)) }
func (r raftLogger) Debugf(format string, v ...any) { r.l.Debug(fmt.Sprintf(format, v...)) }
func (r raftLogger) Info(v ...any)                  { r.l.Info(fmt.Sprint(v...)) }
func (r raftLogger) Infof(format string, v ...any)  { r.l.Info(fmt.Sprintf(format, v...)) }
func (r raftLogger) Warning(v ...any)               { r.l.Warn(fmt.Sprint(v...)) }
func (r raftLogger) Warningf(format string, v ...any) {
	r.l.Warn(fmt.Sprintf(format, v...))
}
func (r raftLogger) Error(v ...any)                 { r.l.Error(fmt.Sprint(v...)) }
func (r raftLogger) Errorf(format string, v ...any) { r.l.Error(fmt.Sprintf(format, v...)) }
func (r raftLogger) Fatal(v ...any)                 { r.fail(fmt.Sprint(v...)) }
func (r raftLogger) Fatalf(format string, v ...any) { r.fail(fmt.Sprintf(format, v...)) }
func (r raftLogger) Panic(v ...any)                 { r.fail(fmt.Sprint(v...)) }
func (r raftLogger) Panicf(format string, v ...any) { r.fail(fmt.Sprintf(format, v...)) }

func (r raftLogger) fail(msg string) {
	r.l.Error(msg)
	panic("raft: " + msg)
}
