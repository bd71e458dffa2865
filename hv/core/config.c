/* SPDX-License-Identifier: MIT */
#include "hv/core/config.h"
#include "hv/lib/format.h"
#include "hv/lib/parse.h"
#include "lib/string.h"

#define MiB	(1ULL << 20)

struct parser {
	struct hv_config *cfg;
	const char *fname;
	int line;
	struct guest_config *g;		/* the section being read, NULL at global scope */
	bool g_bad;			/* the section had an error: drop the guest */
};

static const char *const mode_names[] = { "long", "protected", "real" };
static const char *const unassigned_names[] = { "ignore", "stop" };
static const char *const level_names[] = { "err", "warn", "info", "debug" };

const char *config_mode_name(int mode)
{
	return mode >= 0 && mode < 3 ? mode_names[mode] : "?";
}

const char *config_unassigned_name(int policy)
{
	return policy >= 0 && policy < 2 ? unassigned_names[policy] : "?";
}

/* The index of @val among the @n @names; -1: none of them. */
static int name_index(const char *val, const char *const *names, int n)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(val, names[i]))
			return i;
	return -1;
}

__attribute__((format(printf, 2, 3)))
static void error(struct parser *p, const char *fmt, ...)
{
	struct hv_config *cfg = p->cfg;
	size_t used = strlen(cfg->errors);
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	hv_vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (used < sizeof(cfg->errors) - 1)
		hv_snprintf(cfg->errors + used, sizeof(cfg->errors) - used, "%s:%d: %s\n",
			    p->fname, p->line, msg);
	cfg->nerrors++;
	if (p->g)
		p->g_bad = true;
}

static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		*--e = 0;
	return s;
}

static bool valid_name(const char *s)
{
	size_t n = strlen(s);

	if (!n || n >= CFG_NAME_MAX)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '-' || *s == '_'))
			return false;
	return true;
}

static void finish_guest(struct parser *p)
{
	struct guest_config *g = p->g;

	if (!g)
		return;
	if (!p->g_bad && !g->image[0]) {
		int line = p->line;

		p->line = g->line;
		error(p, "guest '%s' has no image (expected: image = FILE)", g->name);
		p->line = line;
	}
	if (p->g_bad)
		memset(g, 0, sizeof(*g));
	else
		p->cfg->nguests++;
	p->g = NULL;
	p->g_bad = false;
}

static void start_guest(struct parser *p, char *hdr)
{
	char *name;
	struct guest_config *g;

	finish_guest(p);
	if (strncmp(hdr, "guest", 5) || (hdr[5] != ' ' && hdr[5] != '\t')) {
		error(p, "unknown section [%s] (expected: [guest NAME])", hdr);
		return;
	}
	name = trim(hdr + 5);
	if (!valid_name(name)) {
		error(p, "bad guest name '%s' (expected 1-%d letters, digits, '-' or '_')",
		      name, CFG_NAME_MAX - 1);
		return;
	}
	for (unsigned int i = 0; i < p->cfg->nguests; i++)
		if (!strcmp(p->cfg->guests[i].name, name)) {
			error(p, "guest '%s' defined twice", name);
			return;
		}
	if (p->cfg->nguests == CFG_MAX_GUESTS) {
		error(p, "too many guests (at most %d)", CFG_MAX_GUESTS);
		return;
	}
	g = &p->cfg->guests[p->cfg->nguests];
	memset(g, 0, sizeof(*g));
	strncpy(g->name, name, CFG_NAME_MAX - 1);
	g->memory = 16 * MiB;
	g->vcpus = 1;
	g->autostart = true;
	g->apicv = true;
	g->hugepages = true;
	g->line = p->line;
	p->g = g;
}

/* "1", "1,3", "1-3": a CPU mask. */
static bool parse_cpus(const char *s, uint64_t *mask)
{
	*mask = 0;
	while (*s) {
		char num[8];
		unsigned int n = 0;
		uint64_t a, b;

		while (*s && *s != ',' && *s != '-' && n < 7)
			num[n++] = *s++;
		num[n] = 0;
		if (!parse_u64(num, &a) || a >= 64)
			return false;
		b = a;
		if (*s == '-') {
			s++;
			n = 0;
			while (*s && *s != ',' && n < 7)
				num[n++] = *s++;
			num[n] = 0;
			if (!parse_u64(num, &b) || b >= 64 || b < a)
				return false;
		}
		for (uint64_t c = a; c <= b; c++)
			*mask |= 1ULL << c;
		if (*s == ',')
			s++;
		else if (*s)
			return false;
	}
	return *mask != 0;
}

static bool parse_bool(const char *s, bool *out)
{
	if (!strcmp(s, "yes") || !strcmp(s, "true") || !strcmp(s, "1") || !strcmp(s, "on"))
		*out = true;
	else if (!strcmp(s, "no") || !strcmp(s, "false") || !strcmp(s, "0") || !strcmp(s, "off"))
		*out = false;
	else
		return false;
	return true;
}

static bool valid_file(const char *s)
{
	return strlen(s) < CFG_FILE_MAX && !strchr(s, ' ') && !strchr(s, '\t');
}

/* "module = FILE [ARGS...]": the file, then the rest of the line as its arguments. */
static void module_key(struct parser *p, const char *val)
{
	struct guest_config *g = p->g;
	struct guest_module *m;
	size_t n = 0;
	const char *args;

	while (val[n] && val[n] != ' ' && val[n] != '\t')
		n++;
	args = val + n;
	while (*args == ' ' || *args == '\t')
		args++;
	if (g->nmodules == CFG_MODULES_MAX) {
		error(p, "too many modules (at most %d)", CFG_MODULES_MAX);
		return;
	}
	if (n >= CFG_FILE_MAX) {
		error(p, "bad module file name '%.*s'", (int)n, val);
		return;
	}
	if (strlen(args) >= CFG_MODARGS_MAX) {
		error(p, "module arguments too long (%zu characters, at most %d)", strlen(args),
		      CFG_MODARGS_MAX - 1);
		return;
	}
	m = &g->modules[g->nmodules++];
	memcpy(m->file, val, n);
	m->file[n] = 0;
	strncpy(m->args, args, CFG_MODARGS_MAX - 1);
}

/* The first word of @val into @out (at most @n - 1 characters); the rest, blanks skipped. */
static const char *first_word(const char *val, char *out, size_t n, bool *fits)
{
	size_t len = 0;

	while (val[len] && val[len] != ' ' && val[len] != '\t')
		len++;
	*fits = len < n;
	if (*fits) {
		memcpy(out, val, len);
		out[len] = 0;
	}
	val += len;
	while (*val == ' ' || *val == '\t')
		val++;
	return val;
}

/* "disk = FILE [ro]" */
static void disk_key(struct parser *p, const char *val)
{
	struct guest_config *g = p->g;
	struct guest_disk *d = &g->disks[g->ndisks];
	const char *rest;
	bool fits;

	if (g->ndisks == CFG_DISKS_MAX) {
		error(p, "too many disks (at most %d)", CFG_DISKS_MAX);
		return;
	}
	rest = first_word(val, d->file, sizeof(d->file), &fits);
	if (!fits) {
		error(p, "bad disk file name '%s'", val);
		return;
	}
	d->ro = !strcmp(rest, "ro");
	if (*rest && !d->ro) {
		error(p, "bad disk option '%s' (expected: disk = FILE [ro])", rest);
		return;
	}
	g->ndisks++;
}

/* "52:54:00:12:34:56": six bytes, unicast and not all zero. */
static bool parse_mac(const char *s, uint8_t mac[6])
{
	for (int i = 0; i < 6; i++) {
		int hi = hex_digit(s[3 * i]), lo = hi < 0 ? -1 : hex_digit(s[3 * i + 1]);

		if (lo < 0 || s[3 * i + 2] != (i < 5 ? ':' : 0))
			return false;
		mac[i] = (uint8_t)(hi << 4 | lo);
	}
	return !(mac[0] & 1) && (mac[0] | mac[1] | mac[2] | mac[3] | mac[4] | mac[5]);
}

/* "net = NAME [MAC]" */
static void net_key(struct parser *p, const char *val)
{
	struct guest_config *g = p->g;
	struct guest_nic *nic = &g->nics[g->nnics];
	const char *rest;
	bool fits;

	if (g->nnics == CFG_NICS_MAX) {
		error(p, "too many network ports (at most %d)", CFG_NICS_MAX);
		return;
	}
	rest = first_word(val, nic->net, sizeof(nic->net), &fits);
	if (!fits || !valid_name(nic->net)) {
		error(p, "bad network name in '%s' (expected 1-%d letters, digits, '-' or '_')",
		      val, CFG_NAME_MAX - 1);
		return;
	}
	nic->mac_set = *rest;
	if (*rest && !parse_mac(rest, nic->mac)) {
		error(p, "bad MAC address '%s' (expected a unicast address like 52:54:00:12:34:56)",
		      rest);
		return;
	}
	g->nnics++;
}

static void guest_key(struct parser *p, const char *key, const char *val)
{
	struct guest_config *g = p->g;
	uint64_t v;

	if (!strcmp(key, "image") || !strcmp(key, "initrd")) {
		if (!valid_file(val))
			error(p, "bad %s file name '%s'", key, val);
		else
			strncpy(!strcmp(key, "image") ? g->image : g->initrd, val, CFG_FILE_MAX - 1);
	} else if (!strcmp(key, "cmdline")) {
		if (strlen(val) >= CFG_CMDLINE_MAX)
			error(p, "cmdline too long (%zu characters, at most %d)", strlen(val),
			      CFG_CMDLINE_MAX - 1);
		else
			strncpy(g->cmdline, val, CFG_CMDLINE_MAX - 1);
	} else if (!strcmp(key, "module")) {
		module_key(p, val);
	} else if (!strcmp(key, "memory")) {
		/* What the host can give a guest is checked when it starts (hv/mm/gmem.c). */
		if (!parse_u64(val, &v) || v < 2 * MiB || v >> 52 || v % (2 * MiB))
			error(p, "bad memory size '%s' (expected 2M to 4P, a multiple of 2M)", val);
		else
			g->memory = v;
	} else if (!strcmp(key, "vcpus")) {
		if (!parse_u64(val, &v) || v < 1 || v > 8)
			error(p, "bad vcpus '%s' (expected 1 to 8)", val);
		else
			g->vcpus = (unsigned int)v;
	} else if (!strcmp(key, "cpus")) {
		if (!parse_cpus(val, &g->cpu_mask))
			error(p, "bad cpus '%s' (expected a list like 1,2 or 1-3)", val);
	} else if (!strcmp(key, "mode")) {
		int m = name_index(val, mode_names, 3);

		if (m < 0)
			error(p, "bad mode '%s' (expected long, protected or real)", val);
		else
			g->mode = m;
	} else if (!strcmp(key, "load") || !strcmp(key, "entry")) {
		if (!parse_u64(val, &v) || v >= (4ULL << 30))
			error(p, "bad %s address '%s' (expected a guest physical address below 4G)",
			      key, val);
		else if (key[0] == 'l')
			g->load = v;
		else
			g->entry = v;
	} else if (!strcmp(key, "autostart")) {
		if (!parse_bool(val, &g->autostart))
			error(p, "bad autostart '%s' (expected yes or no)", val);
	} else if (!strcmp(key, "apicv")) {
		if (!parse_bool(val, &g->apicv))
			error(p, "bad apicv '%s' (expected on or off)", val);
	} else if (!strcmp(key, "hugepages")) {
		if (!parse_bool(val, &g->hugepages))
			error(p, "bad hugepages '%s' (expected on or off)", val);
	} else if (!strcmp(key, "unassigned")) {
		int u = name_index(val, unassigned_names, 2);

		if (u < 0)
			error(p, "bad unassigned '%s' (expected ignore or stop)", val);
		else
			g->unassigned = u;
	} else if (!strcmp(key, "disk")) {
		disk_key(p, val);
	} else if (!strcmp(key, "net")) {
		net_key(p, val);
	} else if (!strcmp(key, "balloon")) {
		if (!parse_bool(val, &g->balloon))
			error(p, "bad balloon '%s' (expected yes or no)", val);
	} else {
		error(p, "unknown guest key '%s' (expected image, memory, vcpus, cpus, mode, "
		      "load, entry, autostart, apicv, hugepages, unassigned, initrd, cmdline, module, disk, net or balloon)", key);
	}
}

static void global_key(struct parser *p, const char *key, const char *val)
{
	if (!strcmp(key, "log")) {
		int l = name_index(val, level_names, 4);

		if (l < 0)
			error(p, "bad log level '%s' (expected err, warn, info or debug)", val);
		else
			p->cfg->log_level = l;
	} else if (!strcmp(key, "console")) {
		if (strcmp(val, "serial"))
			error(p, "bad console '%s' (expected serial)", val);
	} else if (!strcmp(key, "memory_limit")) {
		uint64_t v;

		if (!parse_u64(val, &v) || v < 2 * MiB || v % 4096)
			error(p, "bad memory_limit '%s' (expected at least 2M, whole pages)", val);
		else
			p->cfg->memory_limit = v;
	} else if (!strcmp(key, "gdb_port")) {
		if (!strcmp(val, "com1") || !strcmp(val, "com2"))
			p->cfg->gdb_port = (unsigned int)(val[3] - '0');
		else
			error(p, "bad gdb_port '%s' (expected com1 or com2)", val);
	} else {
		error(p, "unknown key '%s' (expected log, console, memory_limit or gdb_port, "
		      "or a [guest NAME] section)", key);
	}
}

/* A cmdline line keeps its '#': kernel command lines may contain one. */
static bool is_cmdline(const char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	if (strncmp(s, "cmdline", 7))
		return false;
	for (s += 7; *s == ' ' || *s == '\t'; s++)
		;
	return *s == '=';
}

static void parse_line(struct parser *p, char *s)
{
	char *hash = strchr(s, '#'), *eq, *key, *val;

	if (hash && !(p->g && is_cmdline(s)))
		*hash = 0;
	s = trim(s);
	if (!*s)
		return;
	if (*s == '[') {
		char *end = strchr(s, ']');

		if (!end || *trim(end + 1)) {
			error(p, "bad section header (expected: [guest NAME])");
			finish_guest(p);
			return;
		}
		*end = 0;
		start_guest(p, trim(s + 1));
		return;
	}
	eq = strchr(s, '=');
	if (!eq) {
		error(p, "expected 'key = value', got '%s'", s);
		return;
	}
	*eq = 0;
	key = trim(s);
	val = trim(eq + 1);
	if (!*key || !*val) {
		error(p, "expected 'key = value' with both parts");
		return;
	}
	if (p->g || p->g_bad)
		p->g ? guest_key(p, key, val) : (void)0;
	else
		global_key(p, key, val);
}

unsigned int config_parse(const char *text, size_t len, const char *fname, struct hv_config *cfg)
{
	struct parser p = { cfg, fname, 0, NULL, false };
	char line[CFG_CMDLINE_MAX + 64];	/* room for "cmdline = " and 1023 characters */
	size_t i = 0;

	memset(cfg, 0, sizeof(*cfg));
	cfg->log_level = -1;
	cfg->gdb_port = 1;
	while (i < len) {
		size_t n = 0;

		p.line++;
		while (i < len && text[i] != '\n') {
			if (n < sizeof(line) - 1)
				line[n] = text[i];
			n++;
			i++;
		}
		i++;
		if (n >= sizeof(line)) {
			error(&p, "line too long (at most %zu characters)", sizeof(line) - 1);
			continue;
		}
		line[n] = 0;
		if (strnlen(line, n) != n) {
			error(&p, "NUL byte in line");
			continue;
		}
		parse_line(&p, line);
	}
	finish_guest(&p);
	return cfg->nerrors;
}
