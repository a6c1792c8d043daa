package i18n

import (
	"strconv"
	"strings"
	"time"
)

// Time formats t (already in the zone to show) as a short date and time in
// the printer's language, naming the zone: "Mon 2 Jan 14:05 CET" in
// English, "lun. 2 janv. 14:05 CET" in French. The year is added when it
// is not currentYear. The layout's fields are filled in one pass: an email
// formats a time for every message it quotes.
func (p Printer) Time(t time.Time, currentYear int) string {
	l := langs[p.code]
	layout := l.Date
	if t.Year() != currentYear {
		layout = l.DateYear
	}
	english := p.code == "en"
	if english && monthFirst[p.region] {
		layout = "{day}, {month} {d},"
		if t.Year() != currentYear {
			layout = "{day}, {month} {d}, {year},"
		}
	}
	clock := "15:04"
	if english && twelveHour[p.region] {
		clock = "3:04 PM"
	}
	var b strings.Builder
	for {
		open := strings.IndexByte(layout, '{')
		end := strings.IndexByte(layout[max(open, 0):], '}')
		if open < 0 || end < 0 {
			b.WriteString(layout)
			break
		}
		b.WriteString(layout[:open])
		switch name := layout[open+1 : open+end]; name {
		case "day":
			b.WriteString(l.Days[t.Weekday()])
		case "d":
			b.WriteString(strconv.Itoa(t.Day()))
		case "month":
			b.WriteString(l.Months[t.Month()-1])
		case "year":
			b.WriteString(strconv.Itoa(t.Year()))
		default:
			b.WriteString("{" + name + "}")
		}
		layout = layout[open+end+1:]
	}
	return b.String() + " " + t.Format(clock) + " " + Zone(t)
}

// Where English is written with a 12-hour clock, and with the month before
// the day ("Sun, Dec 6, 5:29 PM"); elsewhere it is "Sun 6 Dec 17:29".
var (
	twelveHour = map[string]bool{"US": true, "CA": true, "AU": true, "NZ": true, "IN": true, "PH": true}
	monthFirst = map[string]bool{"US": true, "PH": true}
)

// Zone names t's zone: its abbreviation (CET, EST), or its offset from UTC
// (UTC+3) where the zone has no abbreviation in common use.
func Zone(t time.Time) string {
	name, offset := t.Zone()
	if name != "" && !strings.ContainsAny(name, "+-0123456789") {
		return name
	}
	if offset == 0 {
		return "UTC"
	}
	sign := "+"
	if offset < 0 {
		sign, offset = "-", -offset
	}
	s := "UTC" + sign + strconv.Itoa(offset/3600)
	if m := offset % 3600 / 60; m != 0 {
		s += ":" + twoDigits(m)
	}
	return s
}

func twoDigits(n int) string {
	if n < 10 {
		return "0" + strconv.Itoa(n)
	}
	return strconv.Itoa(n)
}
