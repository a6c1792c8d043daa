package i18n

import (
	"strconv"
	"strings"
	"time"
)

// Time formats t (already in the zone to show) as a short date and time in
// the printer's language, naming the zone: "Mon 2 Jan 14:05 CET" in
// English, "lun. 2 janv. 14:05 CET" in French. The year is added when it
// is not currentYear.
func (p Printer) Time(t time.Time, currentYear int) string {
	l := langs[p.code]
	layout := l.Date
	if t.Year() != currentYear {
		layout = l.DateYear
	}
	date := strings.NewReplacer(
		"{day}", l.Days[t.Weekday()],
		"{d}", strconv.Itoa(t.Day()),
		"{month}", l.Months[t.Month()-1],
		"{year}", strconv.Itoa(t.Year()),
	).Replace(layout)
	return date + " " + t.Format("15:04") + " " + Zone(t)
}

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
