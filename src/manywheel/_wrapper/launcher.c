/* manywheel's compiled compiler launcher: the cheap front of the compiler wrapper.
 *
 * manywheel.toolchain.launcher compiles this file once per host compiler (cached like the
 * baseline) and manywheel.toolchain.wrappers installs it as the wrappers cc, c++, gcc, g++ and
 * cuda/g++ in place of shell scripts that start ``python -S -E ... ccwrap.main``: about 10 ms a
 * call, dozens of calls before CMake's or meson's first real compile.  It reads
 * ``toolchain.launcher`` (written by wrappers.write_toolchain_config beside toolchain.marshal,
 * in the directory above its own bin/) and
 *
 * - runs the real compiler itself, exactly as ccwrap.main would, when the call needs nothing
 *   of Python: not verbose, and either a query ccwrap passes through untouched (no arguments,
 *   --version, -v, --help, -print-*, -dumpversion/-dumpfullversion/-dumpmachine) or a C or
 *   C++ compile-only call (-c, -S, -E, -M, -MM) that ccwrap.rewrite leaves as it is;
 * - links of programs too (no -shared), as ccwrap.link does them: a line in the link log, then
 *   the compiler with the baseline's link flags; unless verbose, for nvcc's host compiler, or
 *   with libraries built from source (ccwrap checks the output for their host copies), so a
 *   configure step's test programs and the linker's --version cost no Python start.  Shared
 *   objects stay Python's (ccwrap.extlibs: libraries linked statically, bundled or refused);
 * - else execs that Python wrapper, with the language and the arguments, as the scripts did.
 *
 * "Exactly" includes what the process around ccwrap did to the compiler's environment:
 * /bin/sh (dash) ran the scripts (it drops variables whose names are not shell names, keeps
 * the last of duplicates, and exports PWD, checked against "."), Python coerces a C locale
 * (PEP 538: LC_CTYPE=C.UTF-8) and ignores SIGPIPE and SIGXFSZ (the compiler inherits that),
 * and ccwrap.compiler_environ drops the wrappers' bin directory from PATH.  A command line that
 * is not ASCII goes to Python (its error line re-encodes it), and so does a compiler that
 * cannot be started (Python's message names it).  Standard C and POSIX, no dependencies.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <langinfo.h>
#include <limits.h>
#include <locale.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define FORMAT "manywheel-launcher 2"
#define CONFIG_NAME "toolchain.launcher"

struct strings {
    size_t n;
    char **items;
};

/* toolchain.launcher: NUL-terminated fields, in this order: FORMAT, verbose ("0"/"1"), the
 * wrappers' bin directory, the build environment's prefix, the state directory (the link log's),
 * libraries built from source ("0"/"1"), then eight lists, each its length then its items: cc,
 * cxx, cuda_host, compile_flags, preprocess_flags, link_flags, link_flags_after, and the Python
 * wrapper's command (to which the language and the arguments are added). */
struct config {
    int verbose, from_source;
    char *bindir;
    char *env_prefix;
    char *state_dir;
    struct strings cc, cxx, cuda_host, compile_flags, preprocess_flags, link_flags, link_flags_after, python;
};

static void *xmalloc(size_t size) {
    void *p = malloc(size ? size : 1);
    if (p == NULL) {
        fputs("manywheel: error: out of memory\n", stderr);
        exit(127);
    }
    return p;
}

static char *concat(const char *a, const char *b, const char *c) {
    size_t la = strlen(a), lb = strlen(b), lc = strlen(c);
    char *s = xmalloc(la + lb + lc + 1);
    memcpy(s, a, la);
    memcpy(s + la, b, lb);
    memcpy(s + la + lb, c, lc + 1);
    return s;
}

/* ------------------------------------------------------------------ the configuration */

struct reader {
    char *buf;
    size_t size, pos;
};

static char *next_field(struct reader *r) {
    if (r->pos >= r->size)
        return NULL;
    char *field = r->buf + r->pos;
    r->pos += strlen(field) + 1; /* buf[size] is a NUL: never past the end */
    return field;
}

static int read_list(struct reader *r, struct strings *list) {
    char *count = next_field(r), *end;
    if (count == NULL || *count == '\0')
        return -1;
    unsigned long n = strtoul(count, &end, 10);
    if (*end != '\0' || n > r->size)
        return -1;
    list->n = n;
    list->items = xmalloc((n + 1) * sizeof *list->items);
    for (size_t i = 0; i < n; i++)
        if ((list->items[i] = next_field(r)) == NULL)
            return -1;
    list->items[n] = NULL;
    return 0;
}

static int read_config(const char *path, struct config *cfg) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0)
        return -1;
    if (fstat(fd, &st) != 0 || st.st_size <= 0) {
        close(fd);
        return -1;
    }
    struct reader r = {xmalloc((size_t)st.st_size + 1), (size_t)st.st_size, 0};
    size_t got = 0;
    while (got < r.size) {
        ssize_t n = read(fd, r.buf + got, r.size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(fd);
    if (got != r.size)
        return -1;
    r.buf[r.size] = '\0';
    char *format = next_field(&r), *verbose = next_field(&r);
    cfg->bindir = next_field(&r);
    cfg->env_prefix = next_field(&r);
    cfg->state_dir = next_field(&r);
    char *from_source = next_field(&r);
    if (format == NULL || strcmp(format, FORMAT) != 0 || verbose == NULL || from_source == NULL)
        return -1;
    cfg->verbose = strcmp(verbose, "0") != 0;
    cfg->from_source = strcmp(from_source, "0") != 0;
    if (read_list(&r, &cfg->cc) || read_list(&r, &cfg->cxx) || read_list(&r, &cfg->cuda_host)
        || read_list(&r, &cfg->compile_flags) || read_list(&r, &cfg->preprocess_flags)
        || read_list(&r, &cfg->link_flags) || read_list(&r, &cfg->link_flags_after)
        || read_list(&r, &cfg->python) || cfg->python.n == 0)
        return -1;
    return 0;
}

/* ------------------------------------------------------------------ the environment */

static int is_shell_name(const char *s, const char *end) {
    if (s == end || (*s >= '0' && *s <= '9'))
        return 0;
    for (; s < end; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '_'))
            return 0;
    return 1;
}

/* The index of NAME (given with its '=') in env, or -1. */
static long find_var(char **env, size_t n, const char *name, size_t len) {
    for (size_t i = 0; i < n; i++)
        if (strncmp(env[i], name, len) == 0)
            return (long)i;
    return -1;
}

/* The environment as dash, which ran the wrapper scripts, handed it to what it exec'd. */
static char **shell_environ(void) {
    size_t total = 0, n = 0;
    while (environ[total] != NULL)
        total++;
    char **env = xmalloc((total + 2) * sizeof *env);
    for (size_t i = 0; i < total; i++) {
        char *eq = strchr(environ[i], '=');
        if (eq == NULL || !is_shell_name(environ[i], eq))
            continue;
        long at = find_var(env, n, environ[i], (size_t)(eq - environ[i]) + 1);
        if (at >= 0)
            env[at] = environ[i]; /* the last value wins */
        else
            env[n++] = environ[i];
    }
    long pwd = find_var(env, n, "PWD=", 4);
    const char *given = pwd >= 0 ? env[pwd] + 4 : NULL;
    struct stat here, there;
    if (given == NULL || given[0] != '/' || stat(given, &there) != 0 || stat(".", &here) != 0
        || here.st_dev != there.st_dev || here.st_ino != there.st_ino) {
        char *cwd = getcwd(NULL, 0);
        if (cwd == NULL)
            fprintf(stderr, "sh: 0: getcwd() failed: %s\n", strerror(errno));
        char *var = concat("PWD=", cwd ? cwd : "", "");
        if (pwd >= 0)
            env[pwd] = var;
        else
            env[n++] = var;
    }
    env[n] = NULL;
    return env;
}

/* What Python's start does to a C locale (PEP 538): the LC_CTYPE it sets, or NULL. */
static const char *coerced_locale(void) {
    static const char *const targets[] = {"C.UTF-8", "C.utf8", "UTF-8", NULL};
    const char *all = getenv("LC_ALL");
    if (all != NULL && *all != '\0')
        return NULL;
    setlocale(LC_CTYPE, "");
    const char *current = setlocale(LC_CTYPE, NULL);
    if (current == NULL || strcmp(current, "C") != 0)
        return NULL;
    for (const char *const *t = targets; *t != NULL; t++) {
        if (setlocale(LC_CTYPE, *t) == NULL)
            continue;
        const char *codeset = nl_langinfo(CODESET);
        if (codeset != NULL && *codeset != '\0')
            return *t;
        setlocale(LC_CTYPE, "");
    }
    return NULL;
}

static char **with_var(char **env, const char *name, char *var) {
    size_t n = 0;
    while (env[n] != NULL)
        n++;
    long at = find_var(env, n, name, strlen(name));
    if (at >= 0) {
        env[at] = var;
        return env;
    }
    char **out = xmalloc((n + 2) * sizeof *out);
    memcpy(out, env, n * sizeof *out);
    out[n] = var;
    out[n + 1] = NULL;
    return out;
}

/* ccwrap.compiler_environ: the wrappers' bin directory out of PATH (after Python's start). */
static char **compiler_environ(char **shell_env, const char *bindir) {
    size_t n = 0;
    while (shell_env[n] != NULL)
        n++;
    char **env = xmalloc((n + 1) * sizeof *env);
    memcpy(env, shell_env, (n + 1) * sizeof *env);
    const char *lc = coerced_locale();
    if (lc != NULL)
        env = with_var(env, "LC_CTYPE=", concat("LC_CTYPE=", lc, ""));
    const char *path = getenv("PATH");
    if (path == NULL)
        path = "";
    char *kept = xmalloc(strlen(path) + 1), *out = kept;
    size_t skip = strlen(bindir);
    int first = 1;
    for (const char *p = path;; ) {
        const char *colon = strchr(p, ':');
        size_t len = colon ? (size_t)(colon - p) : strlen(p);
        if (!(len == skip && strncmp(p, bindir, len) == 0)) {
            if (!first)
                *out++ = ':';
            memcpy(out, p, len);
            out += len;
            first = 0;
        }
        if (colon == NULL)
            break;
        p = colon + 1;
    }
    *out = '\0';
    return with_var(env, "PATH=", concat("PATH=", kept, ""));
}

/* ------------------------------------------------------------------ what the call needs */

static int in(const char *arg, const char *const *set) {
    for (; *set != NULL; set++)
        if (strcmp(arg, *set) == 0)
            return 1;
    return 0;
}

/* ccwrap.main's pass-through queries: run as they are. */
static int is_pass_through(const char *a) {
    static const char *const plain[] = {"--version", "-v", "--help", NULL};
    static const char *const dumps[] = {"-dumpversion", "-dumpfullversion", "-dumpmachine", NULL};
    return in(a, plain) || strncmp(a, "-print-", 7) == 0 || in(a, dumps);
}

/* What ccwrap.rewrite would change or warn about: those calls go to Python. */
static int is_rewritten(const char *a) {
    static const char *const rewritten[] = {"-march=native", "-mtune=native", "-mcpu=native", "-lstdc++",
                                            "-Wl,-z,pack-relative-relocs", NULL};
    return in(a, rewritten);
}

static int is_ascii(const char *s) {
    for (; *s; s++)
        if ((unsigned char)*s >= 0x80)
            return 0;
    return 1;
}

/* ccwrap.has_files: os.walk(directory) finds a file (anything not a directory). */
static int has_files(const char *directory) {
    DIR *dir = opendir(directory);
    struct dirent *e;
    int found = 0;
    if (dir == NULL)
        return 0;
    while (!found && (e = readdir(dir)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char *path = concat(directory, "/", e->d_name);
        struct stat st;
        int link = e->d_type == DT_LNK, is_dir = e->d_type == DT_DIR;
        if (e->d_type == DT_UNKNOWN && lstat(path, &st) == 0) {
            link = S_ISLNK(st.st_mode);
            is_dir = S_ISDIR(st.st_mode);
        }
        if (link)
            is_dir = stat(path, &st) == 0 && S_ISDIR(st.st_mode);
        /* os.walk lists a link to a directory among the directories but does not enter it */
        found = !is_dir || (!link && has_files(path));
        free(path);
    }
    closedir(dir);
    return found;
}

/* ccwrap.env_prefix_map: "-ffile-prefix-map=PREFIX=/python" when a compile uses the build
 * environment (the empty include directory setuptools adds for every venv does not count). */
static char *env_prefix_map(const char *prefix, char **args, int nargs) {
    if (*prefix == '\0')
        return NULL;
    size_t plen = strlen(prefix);
    char *empty_include = concat(prefix, prefix[plen - 1] == '/' ? "" : "/", "include");
    char *map = NULL;
    for (int i = 0; i < nargs && map == NULL; i++) {
        const char *arg = args[i];
        if (strstr(arg, prefix) == NULL)
            continue;
        const char *path = strncmp(arg, "-I", 2) == 0 && arg[2] != '\0' ? arg + 2 : arg;
        size_t len = strlen(path);
        while (len > 0 && path[len - 1] == '/')
            len--;
        if (len == strlen(empty_include) && strncmp(path, empty_include, len) == 0 && !has_files(empty_include))
            continue;
        map = concat("-ffile-prefix-map=", prefix, "=/python");
    }
    free(empty_include);
    return map;
}

/* ------------------------------------------------------------------ running */

static char **command(const struct strings *real, const struct strings *flags, char *map, char **args, int nargs) {
    size_t n = real->n + (flags ? flags->n : 0) + (map ? 1 : 0) + (size_t)nargs, k = 0;
    char **cmd = xmalloc((n + 1) * sizeof *cmd);
    for (size_t i = 0; i < real->n; i++)
        cmd[k++] = real->items[i];
    for (size_t i = 0; flags && i < flags->n; i++)
        cmd[k++] = flags->items[i];
    if (map)
        cmd[k++] = map;
    for (int i = 0; i < nargs; i++)
        cmd[k++] = args[i];
    cmd[k] = NULL;
    return cmd;
}

/* ccwrap.run without verbose output; -1 when the compiler cannot be started (Python says why). */
static int run(char **cmd, char **env) {
    pid_t pid;
    int status;
    for (char **c = cmd; *c != NULL; c++)
        if (!is_ascii(*c))
            return -1;
    signal(SIGPIPE, SIG_IGN); /* as under Python, which the compiler inherits */
    signal(SIGXFSZ, SIG_IGN);
    if (posix_spawn(&pid, cmd[0], NULL, NULL, cmd, env) != 0)
        return -1;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -1;
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : WIFSIGNALED(status) ? 128 + WTERMSIG(status) : 1;
    if (code != 0) {
        fprintf(stderr, "manywheel: error: the compiler exited with code %d:", code);
        for (char **c = cmd; *c != NULL; c++)
            fprintf(stderr, " %s", *c); /* ": " then the command joined by spaces */
        fputc('\n', stderr);
    }
    return code;
}

/* The Python wrapper, with the language and the arguments, as the shell scripts started it. */
static int exec_python(const struct config *cfg, const char *lang, char **args, int nargs, char **env) {
    char **cmd = xmalloc((cfg->python.n + (size_t)nargs + 2) * sizeof *cmd);
    size_t k = 0;
    for (size_t i = 0; i < cfg->python.n; i++)
        cmd[k++] = cfg->python.items[i];
    cmd[k++] = (char *)lang;
    for (int i = 0; i < nargs; i++)
        cmd[k++] = args[i];
    cmd[k] = NULL;
    execve(cmd[0], cmd, env);
    fprintf(stderr, "manywheel: error: cannot start the compiler wrapper %s: %s\n", cmd[0], strerror(errno));
    return 127;
}

/* ------------------------------------------------------------------ links */

/* ccwrap.output_of: what -o names, or NULL. */
static const char *output_of(char **args, int nargs) {
    for (int i = 0; i < nargs; i++) {
        if (strcmp(args[i], "-o") == 0 && i + 1 < nargs)
            return args[i + 1];
        if (strncmp(args[i], "-o", 2) == 0 && args[i][2] != '\0')
            return args[i] + 2;
    }
    return NULL;
}

static int ends_with(const char *s, const char *tail) {
    size_t ls = strlen(s), lt = strlen(tail);
    return ls >= lt && strcmp(s + ls - lt, tail) == 0;
}

/* os.path.abspath: joined to cwd when relative, then normpath's rules (".", "..", repeated
 * slashes; two leading slashes are kept, three or more become one). */
static char *abspath(const char *path, const char *cwd) {
    size_t lc = strlen(cwd);
    char *joined = path[0] == '/' ? concat(path, "", "") : concat(cwd, lc && cwd[lc - 1] == '/' ? "" : "/", path);
    size_t len = strlen(joined);
    int lead = joined[0] == '/' ? (joined[1] == '/' && joined[2] != '/' ? 2 : 1) : 0;
    char **parts = xmalloc((len + 1) * sizeof *parts);
    size_t n = 0;
    for (char *p = strtok(joined, "/"); p != NULL; p = strtok(NULL, "/")) {
        if (strcmp(p, ".") == 0)
            continue;
        if (strcmp(p, "..") == 0 && (lead || (n > 0 && strcmp(parts[n - 1], "..") != 0))) {
            if (n > 0 && strcmp(parts[n - 1], "..") != 0)
                n--;
            continue;
        }
        parts[n++] = p;
    }
    char *out = xmalloc(len + 3), *o = out;
    for (int i = 0; i < lead; i++)
        *o++ = '/';
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            *o++ = '/';
        size_t l = strlen(parts[i]);
        memcpy(o, parts[i], l);
        o += l;
    }
    if (o == out)
        *o++ = '.';
    *o = '\0';
    free(parts);
    free(joined);
    return out;
}

struct text {
    char *buf;
    size_t len, cap;
};

static void put(struct text *t, const char *s, size_t n) {
    if (t->len + n + 1 > t->cap) {
        size_t cap = (t->len + n + 1) * 2;
        char *buf = xmalloc(cap);
        if (t->len)
            memcpy(buf, t->buf, t->len);
        free(t->buf);
        t->buf = buf;
        t->cap = cap;
    }
    memcpy(t->buf + t->len, s, n);
    t->len += n;
    t->buf[t->len] = '\0';
}

static void puts_text(struct text *t, const char *s) {
    put(t, s, strlen(s));
}

/* A JSON string as json.dumps writes it (ensure_ascii: the text is ASCII here). */
static void put_json(struct text *t, const char *s) {
    put(t, "\"", 1);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        char esc[8];
        const char *short_form = c == '"' ? "\\\"" : c == '\\' ? "\\\\" : c == '\n' ? "\\n" : c == '\r' ? "\\r"
                                 : c == '\t' ? "\\t" : c == '\b' ? "\\b" : c == '\f' ? "\\f" : NULL;
        if (short_form != NULL) {
            puts_text(t, short_form);
        } else if (c < 0x20 || c == 0x7f) {
            snprintf(esc, sizeof esc, "\\u%04x", c);
            puts_text(t, esc);
        } else {
            put(t, s, 1);
        }
    }
    put(t, "\"", 1);
}

/* ccwrap.record_link's line of the link log (linklog.append), or NULL when the link writes no
 * output; *ok is 0 when Python must do it (the current directory unknown, a path not ASCII). */
static char *link_log_line(char **args, int nargs, int *ok) {
    const char *output = output_of(args, nargs);
    *ok = 1;
    if (output == NULL || *output == '\0')
        return NULL;
    char *cwd = getcwd(NULL, 0);
    if (cwd == NULL || !is_ascii(cwd)) {
        *ok = 0;
        free(cwd);
        return NULL;
    }
    struct text t = {NULL, 0, 0};
    char *path = abspath(output, cwd);
    puts_text(&t, "{\"output\": ");
    put_json(&t, path);
    free(path);
    puts_text(&t, ", \"inputs\": [");
    int first = 1;
    for (int i = 0; i < nargs; i++) {
        const char *a = args[i];
        struct stat st;
        if (a[0] == '-' || !(ends_with(a, ".o") || ends_with(a, ".a") || ends_with(a, ".obj") || ends_with(a, ".lo"))
            || stat(a, &st) != 0)
            continue;
        if (!first)
            puts_text(&t, ", ");
        first = 0;
        path = abspath(a, cwd);
        put_json(&t, path);
        free(path);
    }
    puts_text(&t, "], \"cwd\": ");
    put_json(&t, cwd);
    puts_text(&t, ", \"bundled\": [], \"static\": []}\n");
    free(cwd);
    return t.buf;
}

/* linklog.append: one write, appended. */
static int append_link_log(const char *state_dir, const char *line) {
    char *path = concat(state_dir, "/", "links.jsonl");
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0666);
    free(path);
    if (fd < 0)
        return -1;
    size_t len = strlen(line), done = 0;
    while (done < len) {
        ssize_t n = write(fd, line + done, len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            close(fd);
            return -1;
        }
        done += (size_t)n;
    }
    return close(fd);
}

/* ccwrap.link for a program (no -shared: no library rules) and no host-copy check: the line in
 * the link log, then the compiler with the baseline's link flags; -1: Python's work (nothing done). */
static int link_path(const struct config *cfg, const struct strings *real, char **args, int nargs, char **env) {
    if (cfg->from_source)
        return -1;
    for (int i = 0; i < nargs; i++)
        if (strcmp(args[i], "-shared") == 0)
            return -1;
    char *map = env_prefix_map(cfg->env_prefix, args, nargs);
    size_t n = real->n + cfg->compile_flags.n + (map ? 1 : 0) + cfg->link_flags.n + (size_t)nargs
               + cfg->link_flags_after.n, k = 0;
    char **cmd = xmalloc((n + 1) * sizeof *cmd);
    for (size_t i = 0; i < real->n; i++)
        cmd[k++] = real->items[i];
    for (size_t i = 0; i < cfg->compile_flags.n; i++)
        cmd[k++] = cfg->compile_flags.items[i];
    if (map)
        cmd[k++] = map;
    for (size_t i = 0; i < cfg->link_flags.n; i++)
        cmd[k++] = cfg->link_flags.items[i];
    for (int i = 0; i < nargs; i++)
        cmd[k++] = args[i];
    for (size_t i = 0; i < cfg->link_flags_after.n; i++)
        cmd[k++] = cfg->link_flags_after.items[i];
    cmd[k] = NULL;
    /* What run would hand back to Python must be known before the link log is written. */
    for (char **c = cmd; *c != NULL; c++)
        if (!is_ascii(*c))
            return -1;
    if (access(cmd[0], X_OK) != 0)
        return -1;
    int ok;
    char *line = link_log_line(args, nargs, &ok);
    if (!ok || (line != NULL && append_link_log(cfg->state_dir, line) != 0))
        return -1;
    free(line);
    return run(cmd, compiler_environ(env, cfg->bindir));
}

/* The call's answer from the compiler itself, or -1: Python's work. */
static int fast_path(const struct config *cfg, const char *lang, char **args, int nargs, char **env) {
    const struct strings *real = strcmp(lang, "c++") == 0 ? &cfg->cxx
                                 : strcmp(lang, "cuda-host") == 0 ? &cfg->cuda_host : &cfg->cc;
    static const char *const compile_only[] = {"-c", "-S", "-E", "-M", "-MM", NULL};
    int query = nargs == 0, preprocess = 0, compile = 0;
    if (cfg->verbose)
        return -1;
    for (int i = 0; i < nargs; i++)
        query = query || is_pass_through(args[i]);
    if (query)
        return run(command(real, NULL, NULL, args, nargs), compiler_environ(env, cfg->bindir));
    if (strcmp(lang, "cuda-host") == 0)
        return -1;
    for (int i = 0; i < nargs; i++) {
        if (is_rewritten(args[i]))
            return -1;
        preprocess = preprocess || strcmp(args[i], "-E") == 0;
        compile = compile || in(args[i], compile_only);
    }
    if (!compile)
        return link_path(cfg, real, args, nargs, env);
    char *map = env_prefix_map(cfg->env_prefix, args, nargs);
    return run(command(real, preprocess ? &cfg->preprocess_flags : &cfg->compile_flags, map, args, nargs),
               compiler_environ(env, cfg->bindir));
}

/* Where this launcher lies: .../WORKDIR/bin/NAME or .../WORKDIR/bin/cuda/g++. */
static char *own_path(const char *argv0) {
    char *buf = xmalloc(PATH_MAX + 1);
    ssize_t n = readlink("/proc/self/exe", buf, PATH_MAX);
    if (n > 0) {
        buf[n] = '\0';
        return buf;
    }
    free(buf);
    return realpath(argv0, NULL);
}

int main(int argc, char **argv) {
    char *self = own_path(argc > 0 ? argv[0] : "");
    char *slash = self ? strrchr(self, '/') : NULL;
    if (slash == NULL) {
        fputs("manywheel: error: the compiler launcher cannot tell where it lies (no /proc/self/exe)\n", stderr);
        return 127;
    }
    *slash = '\0';
    const char *name = slash + 1, *lang = NULL;
    char *bin = self, *parent = strrchr(self, '/');
    if (strcmp(name, "cc") == 0 || strcmp(name, "gcc") == 0)
        lang = "c";
    else if (strcmp(name, "c++") == 0 || strcmp(name, "g++") == 0)
        lang = "c++";
    if (parent != NULL && strcmp(parent + 1, "cuda") == 0 && strcmp(name, "g++") == 0) {
        lang = "cuda-host";
        *parent = '\0';
        parent = strrchr(bin, '/');
    }
    if (lang == NULL || parent == NULL) {
        fprintf(stderr, "manywheel: error: the compiler launcher runs as a wrapper's bin/cc, bin/c++, bin/gcc, "
                        "bin/g++ or bin/cuda/g++, not as %s/%s\n", self, name);
        return 2;
    }
    *parent = '\0';
    char *config_path = concat(self, "/", CONFIG_NAME);
    struct config cfg;
    if (read_config(config_path, &cfg) != 0) {
        fprintf(stderr, "manywheel: error: cannot read the compiler launcher's configuration %s\n", config_path);
        return 127;
    }
    char **env = shell_environ();
    environ = env; /* what getenv and setlocale read from now on */
    int code = fast_path(&cfg, lang, argv + 1, argc - 1, env);
    return code >= 0 ? code : exec_python(&cfg, lang, argv + 1, argc - 1, env);
}
