/* _dl_find_object (GLIBC_2.35): the unwinder of libgcc_eh.a (static libgcc, as
 * manywheel links C++) asks it for the .eh_frame_hdr of the object that holds a pc,
 * and gives up (std::terminate on the first throw) when it fails.
 *
 * This one walks the loaded objects with dl_iterate_phdr and fills the result as
 * glibc 2.35 does: the mapping bounds (lowest PT_LOAD page to the end of the
 * highest PT_LOAD; the one segment for a main program with gaps), the
 * PT_GNU_EH_FRAME address (on ARM the PT_ARM_EXIDX table and its entry count; on
 * i386 also the data base), and the link map, found in the dynamic linker's list
 * (_r_debug) by the address of its dynamic section.  Objects of other link-map
 * namespaces (dlmopen) get a null dlfo_link_map.  Slower than glibc's lock-free
 * lookup, as fast as libgcc's own search before glibc 2.35. */
#define _GNU_SOURCE
#include "shim.h"

#include <dlfcn.h>
#include <link.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>

#ifndef DLFO_STRUCT_HAS_EH_DBASE
/* Headers older than glibc 2.35: <bits/dl_find_object.h> and <dlfcn.h>'s structure. */
# if defined(__i386__)
#  define DLFO_STRUCT_HAS_EH_DBASE 1
# else
#  define DLFO_STRUCT_HAS_EH_DBASE 0
# endif
# if defined(__arm__)
#  define DLFO_STRUCT_HAS_EH_COUNT 1
#  define DLFO_EH_SEGMENT_TYPE PT_ARM_EXIDX
# else
#  define DLFO_STRUCT_HAS_EH_COUNT 0
#  define DLFO_EH_SEGMENT_TYPE PT_GNU_EH_FRAME
# endif
struct dl_find_object {
    unsigned long long int dlfo_flags;
    void *dlfo_map_start;
    void *dlfo_map_end;
    struct link_map *dlfo_link_map;
    void *dlfo_eh_frame;
# if DLFO_STRUCT_HAS_EH_DBASE
    void *dlfo_eh_dbase;
#  if __SIZEOF_POINTER__ == 4
    unsigned int __dlfo_eh_dbase_pad;
#  endif
# endif
# if DLFO_STRUCT_HAS_EH_COUNT
    int dlfo_eh_count;
    unsigned int __dlfo_eh_count_pad;
# endif
    unsigned long long int __dlfo_reserved[7];
};
#endif

/* glibc rounds the start of the mapping down to a page: 4 KiB on x86, the run-time
 * page size elsewhere (4, 16 or 64 KiB on aarch64 and ppc64le). */
#if defined(__x86_64__) || defined(__i386__)
# define MW_PAGE_SIZE 4096u
#else
# define MW_PAGE_SIZE ((uintptr_t)getpagesize())
#endif

struct mw_find {
    uintptr_t pc;
    struct dl_find_object *result;
    int found;
};

static struct link_map *mw_link_map_of(const void *dynamic)
{
    /* Runs under dl_iterate_phdr's lock, which also guards the list. */
    if (dynamic == NULL)
        return NULL;
    for (struct link_map *map = _r_debug.r_map; map != NULL; map = map->l_next)
        if ((const void *)map->l_ld == dynamic)
            return map;
    return NULL;
}

#if DLFO_STRUCT_HAS_EH_DBASE
/* The base of DW_EH_PE_datarel pointers (i386): the object's GOT, which DT_PLTGOT
 * names, as libgcc's own lookup before glibc 2.35 found it (ld.so has relocated the
 * writable dynamic section in place).  glibc 2.35 stores the address of that
 * dynamic entry instead; GCC's i386 unwind tables use no datarel pointers. */
static void *mw_eh_dbase(const ElfW(Dyn) *dyn)
{
    for (; dyn != NULL && dyn->d_tag != DT_NULL; ++dyn)
        if (dyn->d_tag == DT_PLTGOT)
            return (void *)dyn->d_un.d_ptr;
    return NULL;
}
#endif

static int mw_find_callback(struct dl_phdr_info *info, size_t size, void *data)
{
    struct mw_find *find = data;
    (void)size;
    uintptr_t start = UINTPTR_MAX, end = 0;
    /* The PT_LOAD segment holding the pc, and whether the segments follow each other
     * page by page, as the dynamic linker judges the main program (l_contiguous). */
    uintptr_t seg_start = 0, seg_end = 0, expected = 0;
    int contiguous = 1;
    const void *eh_frame = NULL, *dynamic = NULL;
#if DLFO_STRUCT_HAS_EH_COUNT
    int eh_count = 0;
#endif
    for (ElfW(Half) i = 0; i < info->dlpi_phnum; ++i) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        uintptr_t addr = (uintptr_t)info->dlpi_addr + ph->p_vaddr;
        if (ph->p_type == PT_LOAD) {
            uintptr_t page = addr & ~(uintptr_t)(MW_PAGE_SIZE - 1);
            if (page < start)
                start = page;
            if (addr + ph->p_memsz > end)
                end = addr + ph->p_memsz;
            if (expected != 0 && expected != page)
                contiguous = 0;
            expected = (addr + ph->p_memsz + MW_PAGE_SIZE - 1) & ~(uintptr_t)(MW_PAGE_SIZE - 1);
            if (find->pc >= addr && find->pc < addr + ph->p_memsz) {
                seg_start = addr;
                seg_end = addr + ph->p_memsz;
            }
        } else if (ph->p_type == DLFO_EH_SEGMENT_TYPE) {
            eh_frame = (const void *)addr;
#if DLFO_STRUCT_HAS_EH_COUNT
            eh_count = (int)(ph->p_memsz / 8); /* ARM: .ARM.exidx has 8-byte entries */
#endif
        } else if (ph->p_type == PT_DYNAMIC) {
            dynamic = (const void *)addr;
        }
    }
    /* glibc describes a main program (the object without a name) whose segments have
     * gaps between them (aarch64's 64 KiB segment alignment, old x86_64 binutils' 2 MiB)
     * by the segment that holds the pc alone, and knows no pc between its segments. */
    if (!contiguous && info->dlpi_name != NULL && info->dlpi_name[0] == '\0') {
        start = seg_start;
        end = seg_end;
    }
    if (find->pc < start || find->pc >= end)
        return 0;
    struct dl_find_object *r = find->result;
    r->dlfo_flags = 0;
    r->dlfo_map_start = (void *)start;
    r->dlfo_map_end = (void *)end;
    r->dlfo_link_map = mw_link_map_of(dynamic);
    r->dlfo_eh_frame = (void *)eh_frame;
#if DLFO_STRUCT_HAS_EH_DBASE
    r->dlfo_eh_dbase = mw_eh_dbase(dynamic);
#endif
#if DLFO_STRUCT_HAS_EH_COUNT
    r->dlfo_eh_count = eh_count;
#endif
    find->found = 1;
    return 1;
}

MW_SHIM int _dl_find_object(void *pc, struct dl_find_object *result)
{
    struct mw_find find = {(uintptr_t)pc, result, 0};
    dl_iterate_phdr(mw_find_callback, &find);
    return find.found ? 0 : -1;
}
