// Package forward emails agents' unread replies to visitors who have left the website.
//
// It holds the pure parts of the forwarding engine, as spec/forwarding.md describes them:
// Decide says whether a conversation's email is due, must wait, or must not be sent (and why),
// and Compose turns a Send decision into the email the visitor receives, with headers as
// spec/api.md fixes them (what the email says; mail/message writes it). Neither reads a clock, a database or the network: the scheduler
// passes the current time and a snapshot of the conversation in, and owns the durable due
// times and the outbox.
package forward
