// Package deploy holds Parley's deployment files — the systemd unit, the
// Compose file with two nodes behind nginx, PostgreSQL and Mailpit, and
// nginx's configuration — and a test that runs the same topology as
// processes on one machine.
package deploy
