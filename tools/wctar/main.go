// Command wctar writes the Windows layer tars of the Wine suite
// (spec/fixtures/wclayer/*.tar) with Go's archive/tar, the tar writer
// go-winio's backuptar and hcsshim's ociwclayer use: PAX headers carrying
// the records backuptar writes (MSWINDOWS.fileattr, MSWINDOWS.rawsd,
// MSWINDOWS.xattr.<name>, LIBARCHIVE.creationtime), alternate data streams
// as "<file>:<stream>" entries after their file, a symlink, whiteouts, a
// hive, hard links, a utility VM on a parent's, an opaque directory.  Standard library only: `make wclayer-fixtures` runs it; the suite
// needs only the files it wrote.
package main

import (
	"archive/tar"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// an empty self-relative security descriptor: revision 1, SE_SELF_RELATIVE
var emptySD = []byte{1, 0, 0, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}

var mtime = time.Unix(1600000000, 0)

type entry struct {
	name, data, link string
	typ              byte
	pax              map[string]string
}

func attr(n int) map[string]string {
	return map[string]string{"MSWINDOWS.fileattr": fmt.Sprint(n)}
}

func with(m map[string]string, k, v string) map[string]string {
	m[k] = v
	return m
}

func sd(m map[string]string) map[string]string {
	return with(m, "MSWINDOWS.rawsd", base64.StdEncoding.EncodeToString(emptySD))
}

func write(path string, entries []entry) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	t := tar.NewWriter(f)
	for _, e := range entries {
		h := &tar.Header{Format: tar.FormatPAX, Name: e.name, Typeflag: e.typ, Linkname: e.link,
			Size: int64(len(e.data)), ModTime: mtime, AccessTime: mtime, ChangeTime: mtime,
			PAXRecords: e.pax, Mode: 0644}
		if e.typ == tar.TypeDir {
			h.Mode = 040755
		}
		if err := t.WriteHeader(h); err != nil {
			return err
		}
		if _, err := t.Write([]byte(e.data)); err != nil {
			return err
		}
	}
	if err := t.Close(); err != nil {
		return err
	}
	return f.Close()
}

func main() {
	dir := os.Args[1]
	layer := []entry{
		{name: "Files", typ: tar.TypeDir, pax: attr(16)},
		{name: "Files/hello.txt", typ: tar.TypeReg, data: "hello, layer",
			pax: with(sd(attr(32)), "LIBARCHIVE.creationtime", "1500000000.5")},
		{name: "Files/hello.txt:note", typ: tar.TypeReg, data: "stream data"},
		{name: "Files/dir", typ: tar.TypeDir, pax: sd(attr(16))},
		{name: "Files/dir/ro.txt", typ: tar.TypeReg, data: "read only",
			pax: with(attr(33), "MSWINDOWS.xattr.user.test", base64.StdEncoding.EncodeToString([]byte("v")))},
		{name: "Files/link", typ: tar.TypeSymlink, link: "hello.txt", pax: attr(0x420)},
		{name: "Files/dir/.wh.gone.txt", typ: tar.TypeReg},
		{name: "Hives", typ: tar.TypeDir, pax: attr(16)},
		{name: "Hives/Software_Delta", typ: tar.TypeReg, data: "regf-delta", pax: attr(32)},
	}
	base := []entry{
		{name: "Files", typ: tar.TypeDir, pax: attr(16)},
		{name: "Files/Windows", typ: tar.TypeDir, pax: sd(attr(16))},
		{name: "Files/Windows/win.ini", typ: tar.TypeReg, data: "[fonts]", pax: sd(attr(32))},
		{name: "Hives", typ: tar.TypeDir, pax: attr(16)},
		{name: "Hives/System_Base", typ: tar.TypeReg, data: "regf-base", pax: attr(32)},
		{name: "UtilityVM", typ: tar.TypeDir, pax: attr(16)},
		{name: "UtilityVM/Files", typ: tar.TypeDir, pax: attr(16)},
		{name: "UtilityVM/Files/boot.txt", typ: tar.TypeReg, data: "uvm", pax: attr(32)},
	}
	bad := []entry{
		{name: "Files", typ: tar.TypeDir, pax: attr(16)},
		{name: "Files/../escape.txt", typ: tar.TypeReg, data: "x", pax: attr(32)},
	}
	tomb := []entry{
		{name: "Files", typ: tar.TypeDir, pax: attr(16)},
		{name: "Files/.wh.gone.txt", typ: tar.TypeReg},
	}
	// whiteouts whose names leave the layer once ".wh." is removed
	top := entry{name: "Files", typ: tar.TypeDir, pax: attr(16)}
	whDotDot := []entry{top, {name: "Files/.wh...", typ: tar.TypeReg}}
	whEmpty := []entry{top, {name: "Files/.wh.", typ: tar.TypeReg}}
	whSub := []entry{top, {name: "Files/a", typ: tar.TypeDir, pax: attr(16)},
		{name: "Files/a/.wh...", typ: tar.TypeReg}}
	// hard links in a layer with parents: to a file of the same layer, to
	// a link of it, and to a parent layer's Files/hello.txt (layer.tar)
	link := func(name, target string) entry { return entry{name: name, typ: tar.TypeLink, link: target} }
	links := []entry{top, {name: "Files/a.txt", typ: tar.TypeReg, data: "linked data", pax: attr(32)},
		link("Files/b.txt", "Files/a.txt"), link("Files/c.txt", "Files/hello.txt"),
		link("Files/d.txt", "Files/b.txt")}
	linkMissing := []entry{top, link("Files/x.txt", "Files/nowhere.txt")}
	linkHive := []entry{top, link("Files/x.txt", "Hives/Software_Delta")}
	// a utility VM in a layer with parents: cloned from the first parent,
	// its BCD (kept as bcd.bak too) replaced
	uvmDir := func(name string) entry { return entry{name: name, typ: tar.TypeDir, pax: attr(16)} }
	uvm := []entry{top, uvmDir("UtilityVM"), uvmDir("UtilityVM/Files"),
		{name: "UtilityVM/Files/new.txt", typ: tar.TypeReg, data: "uvm child", pax: attr(32)},
		{name: "UtilityVM/Files/.wh.old.txt", typ: tar.TypeReg}, uvmDir("UtilityVM/Files/EFI"),
		uvmDir("UtilityVM/Files/EFI/Microsoft"), uvmDir("UtilityVM/Files/EFI/Microsoft/Boot"),
		{name: "UtilityVM/Files/EFI/Microsoft/Boot/BCD", typ: tar.TypeReg, data: "bcd child", pax: attr(32)}}
	uvmNoTop := []entry{top, {name: "UtilityVM/Files/new.txt", typ: tar.TypeReg, data: "x", pax: attr(32)}}
	opaque := []entry{top, {name: "Files/dir", typ: tar.TypeDir, pax: attr(16)},
		{name: "Files/dir/.wh..wh..opq", typ: tar.TypeReg}}
	for name, es := range map[string][]entry{"layer.tar": layer, "base.tar": base, "escape.tar": bad,
		"whiteout.tar": tomb, "wh-dotdot.tar": whDotDot, "wh-empty.tar": whEmpty,
		"wh-sub-dotdot.tar": whSub, "links.tar": links, "link-missing.tar": linkMissing,
		"link-hive.tar": linkHive, "uvm-child.tar": uvm, "uvm-no-top.tar": uvmNoTop,
		"opaque.tar": opaque} {
		if err := write(filepath.Join(dir, name), es); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
}
