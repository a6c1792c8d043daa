//go:build !unix

package web

func descriptorLimit() int64 { return 1 << 16 }

func openDescriptors() int { return -1 }
