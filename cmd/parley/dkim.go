package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/parleychat/parley/internal/mail/relay"
)

const dkimUsage = "usage: parley dkim keygen --selector S --domain D [--out FILE] [--type rsa|ed25519]"

// dkimKeygen writes a new DKIM signing key (mode 0600, never over an
// existing file) and prints the DNS record that publishes its public key and
// the settings that use it. It needs no database.
func dkimKeygen(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("dkim keygen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	selector := fs.String("selector", "", "DKIM selector (s=), e.g. parley2026")
	domain := fs.String("domain", "", "signing domain (d=): the domain of PARLEY_MAIL_FROM, or its parent")
	out := fs.String("out", "", "key file to write (default ./dkim-SELECTOR.pem)")
	typ := fs.String("type", "rsa", "key type: rsa (2048 bits) or ed25519")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w\n%s", err, dkimUsage)
	}
	if fs.NArg() > 0 || *selector == "" || *domain == "" {
		return errors.New(dkimUsage)
	}
	keyPEM, err := relay.GenerateDKIMKey(*typ)
	if err != nil {
		return err
	}
	cfg := &relay.DKIMConfig{Domain: *domain, Selector: *selector, KeyPEM: keyPEM}
	name, value, err := cfg.TXTRecord() // checks the selector and domain too
	if err != nil {
		return err
	}
	path := *out
	if path == "" {
		path = "dkim-" + *selector + ".pem"
	}
	if dir := filepath.Dir(path); dir != "." {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("write dkim key: %w", err)
		}
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("write dkim key (an existing key is never overwritten): %w", err)
	}
	if _, err := f.Write(keyPEM); err != nil {
		f.Close()
		os.Remove(path)
		return fmt.Errorf("write dkim key: %w", err)
	}
	if err := f.Close(); err != nil {
		os.Remove(path)
		return fmt.Errorf("write dkim key: %w", err)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		abs = path
	}
	fmt.Fprintf(stdout, "Wrote the private key to %s (keep it secret).\n\n", abs)
	fmt.Fprintf(stdout, "Publish this TXT record:\n\n  name:  %s\n  value: %s\n\n", name, value)
	fmt.Fprintf(stdout, "In a zone file:\n\n  %s\n\n", relay.ZoneTXT(name, value))
	fmt.Fprintf(stdout, "Then start Parley with:\n\n  PARLEY_DKIM_KEY_FILE=%s\n  PARLEY_DKIM_SELECTOR=%s\n  PARLEY_DKIM_DOMAIN=%s\n", abs, *selector, *domain)
	return nil
}
