/* Mount point lookups in /proc/self/mountinfo (see mounts.h). */
#include "mounts.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static void unescape_octal(char *s)
{
	char *out = s;
	while (*s) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' &&
		    s[2] <= '7' && s[3] >= '0' && s[3] <= '7') {
			*out++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 4;
		} else {
			*out++ = *s++;
		}
	}
	*out = '\0';
}

int mount_point_info(const char *path, char *fstype, size_t cap)
{
	char real[PATH_MAX];
	if (!realpath(path, real))
		return errno == ENOENT || errno == ENOTDIR ? 0 : -errno;

	FILE *f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return -errno;
	char *line = NULL;
	size_t linecap = 0;
	int found = 0;
	while (getline(&line, &linecap, f) > 0) {
		/* id parent major:minor root mountpoint options... - fstype src */
		char *save = NULL, *tok = strtok_r(line, " ", &save);
		for (int i = 0; tok && i < 4; i++)
			tok = strtok_r(NULL, " ", &save);
		if (!tok)
			continue;
		unescape_octal(tok);
		if (strcmp(tok, real) != 0)
			continue;
		while ((tok = strtok_r(NULL, " ", &save)) && strcmp(tok, "-") != 0)
			;
		tok = tok ? strtok_r(NULL, " ", &save) : NULL;
		snprintf(fstype, cap, "%s", tok ? tok : "?");
		found = 1; /* keep going: the last (top) mount is the visible one */
	}
	free(line);
	fclose(f);
	return found;
}

int mount_detach(const char *path)
{
	return umount2(path, MNT_DETACH) < 0 ? -errno : 0;
}
