// Command parley runs the Parley live chat server and its administration
// commands (see spec: parley serve | migrate | agent add | workspace list |
// workspace create | version).
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	_ "time/tzdata" // workspace time zones on machines without zoneinfo

	"github.com/parleychat/parley/internal/app"
	"github.com/parleychat/parley/internal/config"
	"github.com/parleychat/parley/internal/logging"
	"github.com/parleychat/parley/internal/model"
	"github.com/parleychat/parley/internal/store"
	"golang.org/x/term"
)

const usage = `usage: parley <command> [flags]

commands:
  serve                                   run the server (HTTP, forwarding engine, inbound mail)
  migrate                                 apply database migrations and exit
  agent add --email E --name N [--password P | --password-stdin] [--workspace W] [--role admin|agent]
                                          create an agent (the workspace's first is an admin); prints its id
  agent list [--workspace W]              print id, email, name and role of each agent
  agent remove --email E                  remove an agent: their sessions end at once
  workspace list                          print id, name and site key of each workspace
  workspace create --name N               create a workspace; prints its id and site key
  workspace rename --workspace W --name N rename a workspace
  backup --out FILE                       write a consistent copy of the live SQLite database
                                          (on PostgreSQL: use pg_dump)
  dkim keygen --selector S --domain D [--out FILE] [--type rsa|ed25519]
                                          write a DKIM key (mode 0600); prints its DNS record
  version                                 print the version

Configuration comes from PARLEY_* environment variables (see README).
`

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr); err != nil {
		if strings.EqualFold(strings.TrimSpace(os.Getenv("PARLEY_LOG_FORMAT")), "json") {
			// One JSON object a line, as the rest of the log, for the
			// collector that reads it.
			slog.New(slog.NewJSONHandler(os.Stderr, nil)).Error("parley stopped", "err", err.Error())
		} else {
			fmt.Fprintln(os.Stderr, "parley:", err)
		}
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("no command given")
	}
	if !slices.Contains(commands, args[0]) {
		return unknownCommand(args[0])
	}
	if help(args[1:]) {
		// Asked for help: said at once, nothing opened.
		switch args[0] {
		case "serve":
			fmt.Fprintln(stdout, serveUsage)
		case "migrate":
			fmt.Fprintln(stdout, migrateUsage)
		case "agent":
			fmt.Fprintln(stdout, agentUsage)
		case "workspace":
			fmt.Fprintln(stdout, workspaceUsage)
		case "dkim":
			fmt.Fprintln(stdout, dkimUsage)
		case "backup":
			fmt.Fprintln(stdout, backupUsage)
		default:
			fmt.Fprint(stdout, usage)
		}
		return nil
	}
	switch args[0] {
	case "version", "--version", "-v":
		if len(args) > 1 {
			return noArguments(args)
		}
		fmt.Fprintln(stdout, "parley", app.Version)
		return nil
	case "help", "--help", "-h":
		fmt.Fprint(stdout, usage)
		return nil
	case "dkim":
		// Needs neither the configuration nor the database.
		if len(args) < 2 || args[1] != "keygen" {
			return errors.New(dkimUsage)
		}
		return dkimKeygen(args[2:], stdout, stderr)
	}
	cfg, err := config.Load(nil)
	if err != nil {
		return err
	}
	log, err := logging.New(stderr, cfg.LogFormat, cfg.LogLevel)
	if err != nil {
		return err
	}
	slog.SetDefault(log)
	unknown, closest := config.Unknown(os.Environ())
	for i, name := range unknown {
		if closest[i] != "" {
			log.Warn("unknown configuration variable: ignored", "name", name, "did_you_mean", closest[i])
		} else {
			log.Warn("unknown configuration variable: ignored", "name", name)
		}
	}

	if args[0] != "serve" && args[0] != "migrate" && cfg.LogLevel < slog.LevelError {
		// A one-off command prints its answer: what the server warns of
		// as it opens the database (PostgreSQL's settings, the mail
		// domain's records) is serve's and migrate's to say.
		if log, err = logging.New(stderr, cfg.LogFormat, slog.LevelError); err != nil {
			return err
		}
		slog.SetDefault(log)
	}
	if err := checkDatabase(cfg, args); err != nil {
		return err
	}
	switch args[0] {
	case "serve":
		if len(args) > 1 {
			return noArguments(args)
		}
		return serve(ctx, cfg, log, stdout)
	case "migrate":
		if len(args) > 1 {
			return noArguments(args)
		}
		a, err := app.Open(ctx, cfg, log)
		if err != nil {
			return err
		}
		defer a.Close()
		fmt.Fprintln(stdout, "database migrated")
		return nil
	case "agent":
		if len(args) < 2 {
			return errors.New(agentUsage)
		}
		switch args[1] {
		case "add":
			return agentAdd(ctx, cfg, log, args[2:], stdin, stdout, stderr)
		case "list":
			return agentList(ctx, cfg, log, args[2:], stdout)
		case "remove":
			return agentRemove(ctx, cfg, log, args[2:], stdout)
		}
		return errors.New(agentUsage)
	case "backup":
		return backup(ctx, cfg, args[1:], stdout)
	case "workspace":
		if len(args) < 2 {
			return errors.New(workspaceUsage)
		}
		return workspace(ctx, cfg, log, args[1], args[2:], stdout)
	}
	return unknownCommand(args[0]) // in commands, and not run above
}

// commands are the first words run takes: any other is refused before the
// configuration is read.
var commands = []string{"serve", "migrate", "agent", "workspace", "backup", "dkim", "version", "--version", "-v", "help", "--help", "-h"}

func unknownCommand(name string) error {
	return fmt.Errorf("unknown command %q (parley help lists the commands)", name)
}

// help reports whether a command's arguments ask for its usage: a help
// flag, or "help" as the subcommand ("parley agent help").
func help(args []string) bool {
	if len(args) > 0 && args[0] == "help" {
		return true
	}
	for _, a := range args {
		switch a {
		case "-h", "-help", "--help":
			return true
		}
	}
	return false
}

// noArguments refuses the arguments of a command that takes none: the
// configuration is in PARLEY_* variables, not flags.
func noArguments(args []string) error {
	return fmt.Errorf("%s takes no arguments (its configuration is in PARLEY_* variables), got %q", args[0], strings.Join(args[1:], " "))
}

// parseFlags parses a command's flags and refuses any other argument.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%s: unexpected %q", fs.Name(), strings.Join(fs.Args(), " "))
	}
	return nil
}

// checkDatabase refuses a command that reads or copies the database when
// the SQLite file is not there: opening it would make a new, empty one,
// and a backup of it would look like a success. serve, migrate, agent add
// and workspace create may start a database.
func checkDatabase(cfg config.Config, args []string) error {
	reads := args[0] == "backup"
	if len(args) > 1 {
		switch args[0] + " " + args[1] {
		case "agent list", "agent remove", "workspace list", "workspace rename":
			reads = true
		}
	}
	if !reads {
		return nil
	}
	path, ok := store.SQLiteFile(cfg.DatabaseURL)
	if !ok {
		return nil
	}
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("no database at %s (PARLEY_DATABASE_URL=%s): run the command where the server runs, or set PARLEY_DATABASE_URL to its database", path, cfg.DatabaseURL)
	}
	return nil
}

func serve(ctx context.Context, cfg config.Config, log *slog.Logger, stdout io.Writer) error {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	release, err := store.HoldServer(cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer release()
	// The address first: a port in use is said before a database is made
	// or migrated for a server that cannot start.
	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("listen on PARLEY_HTTP_ADDR %s: %w", cfg.HTTPAddr, err)
	}
	defer ln.Close()
	a, err := app.Open(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer a.Close()
	n, err := a.Chat.CountAgents(ctx)
	if err != nil {
		return err
	}
	if n == 0 {
		fmt.Fprintf(stdout, "No agent yet. Create one in another terminal (it asks for a password, twice):\n\n    %s agent add --email you@example.com --name \"Your Name\" --password-stdin\n\nthen sign in at %s/dashboard (the demo page with the widget is %s/demo).\n\n", selfCommand(os.Args[0]), cfg.PublicURL, cfg.PublicURL)
	}
	return a.Serve(ctx, ln)
}

// selfCommand is how to run this program again, as the first-start hint
// shows it: "go run ./cmd/parley" under go run (a binary in the build
// cache), else the command it was started as.
func selfCommand(arg0 string) string {
	if strings.Contains(filepath.ToSlash(arg0), "/go-build") {
		return "go run ./cmd/parley"
	}
	return arg0
}

const backupUsage = "usage: parley backup --out FILE"

const serveUsage = `usage: parley serve
  runs the server (HTTP, forwarding engine, inbound mail); its configuration
  is in PARLEY_* environment variables (see README)`

const migrateUsage = `usage: parley migrate
  applies the database's migrations and exits (serve applies them too)`

const workspaceUsage = `usage: parley workspace list
       parley workspace create --name N
       parley workspace rename --workspace W --name N`

const agentUsage = `usage: parley agent add --email E --name N [--password P | --password-stdin] [--workspace W] [--role admin|agent]
       parley agent list [--workspace W]
       parley agent remove --email E`

// findWorkspace resolves --workspace (an id or a name); empty is the first
// workspace.
func findWorkspace(ctx context.Context, a *app.App, idOrName string) (string, error) {
	all, err := a.Chat.Workspaces(ctx)
	if err != nil {
		return "", err
	}
	if idOrName != "" {
		var named []string
		for _, w := range all {
			if w.ID == idOrName {
				return w.ID, nil
			}
			if w.Name == idOrName {
				named = append(named, w.ID)
			}
		}
		switch len(named) {
		case 1:
			return named[0], nil
		case 0: // none: FindWorkspace says so in the service's terms
			w, err := a.Chat.FindWorkspace(ctx, idOrName)
			if err != nil {
				return "", err
			}
			return w.ID, nil
		}
		return "", fmt.Errorf("%d workspaces are named %q: give the id of one (parley workspace list)", len(named), idOrName)
	}
	if len(all) == 0 {
		return "", errors.New("no workspace exists")
	}
	return all[0].ID, nil
}

func agentList(ctx context.Context, cfg config.Config, log *slog.Logger, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("agent list", flag.ContinueOnError)
	wsName := fs.String("workspace", "", "workspace id or name (default: the first workspace)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	a, err := app.OpenToRead(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer a.Close()
	wsID, err := findWorkspace(ctx, a, *wsName)
	if err != nil {
		return err
	}
	agents, err := a.Chat.AgentsOfWorkspace(ctx, wsID)
	if err != nil {
		return err
	}
	for _, ag := range agents {
		fmt.Fprintf(stdout, "%s\t%s\t%s\t%s\n", ag.ID, ag.Email, ag.Name, ag.Role)
	}
	return nil
}

func agentRemove(ctx context.Context, cfg config.Config, log *slog.Logger, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("agent remove", flag.ContinueOnError)
	email := fs.String("email", "", "login email of the agent to remove")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *email == "" {
		return errors.New("agent remove needs --email")
	}
	a, err := app.Open(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer a.Close()
	ag, err := a.Chat.RemoveAgentByEmail(ctx, *email)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, "removed", ag.ID)
	return nil
}

// backup copies the database without migrating it or stopping the server
// that uses it.
func backup(ctx context.Context, cfg config.Config, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("backup", flag.ContinueOnError)
	out := fs.String("out", "", "file to write the copy to (must not exist)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *out == "" {
		return errors.New(backupUsage)
	}
	db, err := store.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.Backup(ctx, *out); err != nil {
		return err
	}
	st, err := os.Stat(*out)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "backup written to %s (%d bytes)\n", *out, st.Size())
	return nil
}

func agentAdd(ctx context.Context, cfg config.Config, log *slog.Logger, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("agent add", flag.ContinueOnError)
	email := fs.String("email", "", "login email")
	name := fs.String("name", "", "display name")
	password := fs.String("password", "", "password (prefer --password-stdin)")
	fromStdin := fs.Bool("password-stdin", false, "read the password from standard input")
	wsName := fs.String("workspace", "", "workspace id or name (default: the first workspace)")
	role := fs.String("role", "", "admin or agent (default: admin for the workspace's first agent, agent after)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *role != "" && *role != "admin" && *role != "agent" {
		return errors.New(`--role is "admin" or "agent"`)
	}
	if *email == "" || *name == "" {
		return errors.New("agent add needs --email and --name")
	}
	if *fromStdin && *password != "" {
		return errors.New("agent add takes --password or --password-stdin, not both")
	}
	errNoPassword := errors.New("agent add needs --password or --password-stdin")
	if !*fromStdin && *password == "" {
		return errNoPassword
	}
	a, err := app.Open(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer a.Close()
	wsID, err := findWorkspace(ctx, a, *wsName)
	if err != nil {
		return err
	}
	if *fromStdin {
		// What would refuse the agent is said before the password is
		// typed, not after.
		if err := a.Chat.CheckNewAgent(ctx, wsID, *email, *name, *role); err != nil {
			return err
		}
		if *password, err = readPassword(stdin, stderr, *email, a.Chat.CheckPassword); err != nil {
			return err
		}
		if *password == "" { // nothing piped
			return errNoPassword
		}
	}
	agent, err := a.Chat.CreateAgent(ctx, wsID, *email, *name, *password, *role)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, agent.ID)
	if !agent.IsAdmin() {
		// Allowed (an admin may come later), but nobody can then change
		// the workspace's settings or invite anyone from the dashboard.
		agents, err := a.Chat.AgentsOfWorkspace(ctx, wsID)
		if err != nil {
			return err
		}
		if !slices.ContainsFunc(agents, model.Agent.IsAdmin) {
			fmt.Fprintln(stderr, "note: this workspace has no admin yet: nobody can change its settings or invite agents until one is added with --role admin")
		}
	}
	return nil
}

// readPassword reads the password for --password-stdin: the first line of
// stdin, or, when stdin is a terminal, a password typed twice after a
// prompt on stderr, without echo; one that check refuses is asked for
// again at once, three times at most.
func readPassword(stdin io.Reader, stderr io.Writer, email string, check func(string) error) (string, error) {
	f, ok := stdin.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		line, err := bufio.NewReader(stdin).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return "", fmt.Errorf("read password: %w", err)
		}
		return strings.TrimRight(line, "\r\n"), nil
	}
	fd := int(f.Fd())
	// Ctrl-C while the echo is off would leave the terminal without it
	// (go run, for one, survives the signal and does not reset it).
	state, err := term.GetState(fd)
	if err != nil {
		return "", fmt.Errorf("read password: %w", err)
	}
	interrupted, done := make(chan os.Signal, 1), make(chan struct{})
	signal.Notify(interrupted, os.Interrupt, syscall.SIGTERM)
	defer func() { signal.Stop(interrupted); close(done) }()
	go func() {
		select {
		case <-interrupted:
			_ = term.Restore(fd, state)
			fmt.Fprintln(stderr)
			os.Exit(130)
		case <-done:
		}
	}()
	ask := func(prompt string) ([]byte, error) {
		fmt.Fprint(stderr, prompt)
		b, err := readNoEcho(fd)
		fmt.Fprintln(stderr)
		if errors.Is(err, io.EOF) {
			return nil, errors.New("no password typed")
		}
		if err != nil {
			return nil, fmt.Errorf("read password: %w", err)
		}
		return b, nil
	}
	var first []byte
	for try := 1; ; try++ {
		if first, err = ask("Password for " + email + ": "); err != nil {
			return "", err
		}
		if len(first) == 0 {
			return "", errors.New("no password typed")
		}
		err := check(string(first))
		if err == nil {
			break
		}
		if try == 3 {
			return "", err
		}
		fmt.Fprintf(stderr, "%v; try again.\n", err)
	}
	again, err := ask("Again: ")
	if err != nil {
		return "", err
	}
	if string(first) != string(again) {
		return "", errors.New("the two passwords typed differ")
	}
	return string(first), nil
}

func workspace(ctx context.Context, cfg config.Config, log *slog.Logger, sub string, args []string, stdout io.Writer) error {
	open := app.Open
	switch sub {
	case "list":
		open = app.OpenToRead
	case "create", "rename":
	default: // refused before the database is opened
		return fmt.Errorf("unknown workspace command %q: %s", sub, workspaceUsage)
	}
	a, err := open(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer a.Close()
	switch sub {
	case "list":
		if len(args) > 0 {
			return noArguments(append([]string{"workspace list"}, args...))
		}
		ws, err := a.Chat.Workspaces(ctx)
		if err != nil {
			return err
		}
		for _, w := range ws {
			fmt.Fprintf(stdout, "%s\t%s\t%s\n", w.ID, w.Name, w.SiteKey)
		}
		return nil
	case "create":
		fs := flag.NewFlagSet("workspace create", flag.ContinueOnError)
		name := fs.String("name", "", "workspace name")
		if err := parseFlags(fs, args); err != nil {
			return err
		}
		w, err := a.Chat.CreateWorkspace(ctx, *name)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s\t%s\n", w.ID, w.SiteKey)
		return nil
	case "rename":
		fs := flag.NewFlagSet("workspace rename", flag.ContinueOnError)
		wsName := fs.String("workspace", "", "workspace id or name")
		name := fs.String("name", "", "new name")
		if err := parseFlags(fs, args); err != nil {
			return err
		}
		if *wsName == "" || *name == "" {
			return errors.New("workspace rename needs --workspace and --name")
		}
		wsID, err := findWorkspace(ctx, a, *wsName)
		if err != nil {
			return err
		}
		w, err := a.Chat.RenameWorkspace(ctx, wsID, *name)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s\t%s\n", w.ID, w.Name)
		return nil
	}
	return nil // not reached: sub was checked above
}
