/* TEST CODE ONLY: the double's reading of layer folders (double_folder.c). */
#ifndef DOUBLE_FOLDER_H
#define DOUBLE_FOLDER_H
#include <windows.h>
/* The manifest of the folder at root (malloc'd text, one line per entry),
 * legacy: ImportLayer's transport folder, else a base layer's folder; or
 * NULL with the reason in why. */
char *folder_manifest(const WCHAR *root, int legacy, char *why, size_t wl);
/* copies the tree at from into to (made if missing), hard links as links;
 * 0 or -1 */
int folder_copy(const WCHAR *from, const WCHAR *to);
/* removes a folder and everything in it */
void folder_remove(const WCHAR *root);
/* no entries (or no folder) */
int folder_empty(const WCHAR *root);
/* HCS's layer folder made from an ImportLayer transport folder: its
 * directories, Files\ files as their data, hives as they are; 0 or -1 */
int folder_expand(const WCHAR *transport, const WCHAR *layer);
/* a folder and those above it (made if missing); 0 or -1 */
int folder_make(const WCHAR *path);
/* 1 when a and b are the same file (hard links of each other) */
int folder_same_file(const WCHAR *a, const WCHAR *b);
#endif
