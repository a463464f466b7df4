// Package cli is berth's command line: Docker's commands, flags, output
// formats and exit codes, over the engine library (berth/final/engine).
//
// Each cobra command has its own file named after it (run.go, ps.go,
// network_create.go...). What can be tested without root is kept pure:
// containerflags.go turns run's and create's flags into an
// engine.CreateRequest, format.go renders the tables' cells the way docker
// does ("About a minute ago", "0.0.0.0:8080->80/tcp"), template.go runs
// inspect's --format templates, and stats.go computes CPU % from two
// samples. attach.go is the part that touches the user's terminal: raw
// mode, window size changes and the signals forwarded to a container.
//
// The engine is opened the first time a command needs it, so --help,
// flag errors and `berth version`'s client half work without root. Exit
// codes follow docker's: 125 when berth itself fails in a command whose
// success is a container's status (run, create, start, exec), 126 and 127
// when the container's command cannot be run, the container's own status
// otherwise; 125 for a bad flag; 1 for an unknown command, a wrong number
// of arguments, or a failure in any other command.
//
// This is the final part of the berth course: the chapters' mechanisms,
// assembled into an engine, driven like docker.
package cli
