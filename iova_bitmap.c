// SPDX-License-Identifier: GPL-2.0-only
/*
 * IOVA dirty bitmap: lets IOMMU and VFIO drivers report dirty IOVA ranges
 * straight into a bitmap that lives in user memory.
 *
 * The user bitmap is an array of u64 words, in CPU byte order, at @data.
 * Bit N (bit N % 64 of word N / 64) stands for the IOVA range
 * [iova + N * page_size, iova + (N + 1) * page_size). Bits are only ever
 * set, never cleared. @data may have any alignment, so a word can straddle
 * two user pages; bits are therefore written a byte at a time, or as whole
 * words with memset() where a run of whole words lies within one page.
 *
 * Drivers record dirty ranges with iova_bitmap_set(), often while holding
 * spinlocks or walking page tables in atomic context, where copy_to_user()
 * is not allowed. So the user pages holding the bitmap are pinned up front
 * and written through short-lived kmap_local_page() mappings instead.
 *
 * A bitmap for a large IOVA space can be far too big to pin at once, so it
 * is processed in windows. A window is the part of the bitmap held by at
 * most IOVA_BITMAP_MAX_PAGES user pages, i.e. as many as a single page of
 * struct page pointers can track. A window holds whole u64 words only, so
 * it starts at a word and ends with the last word that fits entirely in its
 * pinned pages; the page holding a word that straddles the end is pinned
 * again for the next window. iova_bitmap_for_each() pins one window,
 * hands the window's IOVA range to the caller's function, unpins the window
 * (marking its pages dirty if anything was written) and moves on to the
 * next one, in increasing IOVA order.
 *
 * Invariants:
 *  - User pages are pinned only while iova_bitmap_for_each() runs, and then
 *    only those of the current window; @npages is zero whenever nothing is
 *    pinned.
 *  - iova_bitmap_set() only writes bits of the current window. A range that
 *    runs past the end of the window is not lost: the part beyond the window
 *    is kept as a single pending "carry" range and is written as soon as the
 *    windows it touches are mapped. Disjoint carried ranges are merged into
 *    their hull, which can over-report but never under-reports dirty pages.
 *    Bits before the current window belong to windows that were already
 *    reported and are dropped, as are bits beyond the end of the bitmap.
 *
 * Calling context:
 *  - iova_bitmap_alloc(), iova_bitmap_for_each() and iova_bitmap_free() may
 *    sleep and must be called from process context, by the task that owns
 *    the user bitmap's address space.
 *  - iova_bitmap_set() does not sleep or allocate and may be called in any
 *    context, but only from within the function passed to
 *    iova_bitmap_for_each() (directly or by code it waits for). Calls for the
 *    same bitmap must be serialised by the caller.
 */
#include <linux/bits.h>
#include <linux/bitops.h>
#include <linux/err.h>
#include <linux/export.h>
#include <linux/highmem.h>
#include <linux/iova_bitmap.h>
#include <linux/limits.h>
#include <linux/log2.h>
#include <linux/minmax.h>
#include <linux/mm.h>
#include <linux/overflow.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>

/* Number of user pages pinned per window: one page of struct page pointers */
#define IOVA_BITMAP_MAX_PAGES	(PAGE_SIZE / sizeof(struct page *))
#define IOVA_BITMAP_WORD_BITS	BITS_PER_TYPE(u64)

/**
 * struct iova_bitmap - a user dirty bitmap and the window mapped of it
 * @data: user address of the bitmap's first byte
 * @iova: IOVA described by bit 0
 * @last: last IOVA covered by the bitmap (inclusive)
 * @pgshift: log2 of the IOVA page size described by one bit
 * @nbits: number of bits in use
 * @nwords: number of u64 words in the user bitmap
 * @max_pages: capacity of @pages
 * @pages: user pages pinned for the current window
 * @npages: number of pages pinned in @pages, zero when no window is mapped
 * @pgoff: byte offset of the window's first word in @pages[0]
 * @next_word: index of the first word after the current window
 * @win_bit: index of the window's first bit in the whole bitmap
 * @win_iova: first IOVA covered by the window
 * @win_last: last IOVA covered by the window (inclusive)
 * @dirtied: a bit was written since the window was mapped
 * @carry: @carry_iova and @carry_last hold a range beyond the window
 * @carry_iova: first IOVA of the pending range
 * @carry_last: last IOVA of the pending range (inclusive)
 */
struct iova_bitmap {
	u64 __user *data;
	unsigned long iova;
	unsigned long last;
	unsigned int pgshift;
	unsigned long nbits;
	unsigned long nwords;
	unsigned long max_pages;
	struct page **pages;

	unsigned long npages;
	unsigned long pgoff;
	unsigned long next_word;
	unsigned long win_bit;
	unsigned long win_iova;
	unsigned long win_last;
	bool dirtied;

	bool carry;
	unsigned long carry_iova;
	unsigned long carry_last;
};

/**
 * iova_bitmap_alloc() - describe a user dirty bitmap
 * @iova: first IOVA covered by the bitmap
 * @length: number of bytes of IOVA space covered, from @iova on
 * @page_size: IOVA bytes per bit, a power of two
 * @data: user address of the bitmap; no alignment is required
 *
 * The user memory must be large enough to hold one bit per @page_size
 * chunk of [@iova, @iova + @length), rounded up to whole u64 words. Nothing
 * is pinned here; that happens window by window in iova_bitmap_for_each().
 *
 * Context: Process context; may sleep.
 * Return: the new bitmap, to be released with iova_bitmap_free(), or an
 * ERR_PTR(): -EINVAL for a zero @length or a @page_size that is not a power
 * of two, -EOVERFLOW if the range wraps around the IOVA space, -EFAULT if
 * the user buffer is not a valid user range, or -ENOMEM.
 */
struct iova_bitmap *iova_bitmap_alloc(unsigned long iova, size_t length,
				      unsigned long page_size,
				      u64 __user *data)
{
	unsigned long addr = (unsigned long)data;
	struct iova_bitmap *bitmap;
	unsigned long last, bytes;

	if (!length || !is_power_of_2(page_size))
		return ERR_PTR(-EINVAL);
	if (check_add_overflow(iova, length - 1, &last))
		return ERR_PTR(-EOVERFLOW);

	bitmap = kzalloc(sizeof(*bitmap), GFP_KERNEL);
	if (!bitmap)
		return ERR_PTR(-ENOMEM);

	bitmap->data = data;
	bitmap->iova = iova;
	bitmap->last = last;
	bitmap->pgshift = __ffs(page_size);
	/* Written so that no step can overflow, even for a 1 byte page size */
	bitmap->nbits = ((length - 1) >> bitmap->pgshift) + 1;
	bitmap->nwords = (bitmap->nbits - 1) / IOVA_BITMAP_WORD_BITS + 1;
	bytes = bitmap->nwords * sizeof(u64);
	if (!access_ok(data, bytes)) {
		kfree(bitmap);
		return ERR_PTR(-EFAULT);
	}

	bitmap->max_pages = min(DIV_ROUND_UP(offset_in_page(addr) + bytes,
					     PAGE_SIZE),
				IOVA_BITMAP_MAX_PAGES);
	bitmap->pages = kcalloc(bitmap->max_pages, sizeof(*bitmap->pages),
				GFP_KERNEL);
	if (!bitmap->pages) {
		kfree(bitmap);
		return ERR_PTR(-ENOMEM);
	}
	return bitmap;
}
EXPORT_SYMBOL_NS_GPL(iova_bitmap_alloc, IOMMUFD);

/* Unpin the current window, if any, dirtying its pages if it was written */
static void iova_bitmap_unmap(struct iova_bitmap *bitmap)
{
	if (!bitmap->npages)
		return;
	unpin_user_pages_dirty_lock(bitmap->pages, bitmap->npages,
				    bitmap->dirtied);
	bitmap->npages = 0;
}

/**
 * iova_bitmap_free() - release a bitmap from iova_bitmap_alloc()
 * @bitmap: the bitmap
 *
 * Drops any user pages still pinned and frees @bitmap. Fine to call after
 * iova_bitmap_for_each() failed, or if it was never called.
 *
 * Context: Process context; may sleep.
 */
void iova_bitmap_free(struct iova_bitmap *bitmap)
{
	iova_bitmap_unmap(bitmap);
	kfree(bitmap->pages);
	kfree(bitmap);
}
EXPORT_SYMBOL_NS_GPL(iova_bitmap_free, IOMMUFD);

/*
 * Byte offset, from the window's first word, of the byte holding window bit
 * @bit. The window starts on a word, so this is the same as within the
 * whole bitmap.
 */
static unsigned long iova_bitmap_byte(unsigned long bit)
{
	unsigned long byte = (bit % IOVA_BITMAP_WORD_BITS) / BITS_PER_BYTE;

	if (IS_ENABLED(CONFIG_CPU_BIG_ENDIAN))
		byte = sizeof(u64) - 1 - byte;
	return bit / IOVA_BITMAP_WORD_BITS * sizeof(u64) + byte;
}

/* Set @nbits bits of the mapped window, starting at window bit @bit */
static void iova_bitmap_set_bits(struct iova_bitmap *bitmap,
				 unsigned long bit, unsigned long nbits)
{
	unsigned long idx = 0;
	u8 *kaddr = NULL;

	while (nbits) {
		unsigned long pos = bitmap->pgoff + bit / BITS_PER_BYTE;
		unsigned long n = 0;

		/* Whole words that fit in the page are all ones in any order */
		if (!(bit % IOVA_BITMAP_WORD_BITS))
			n = min(nbits / IOVA_BITMAP_WORD_BITS,
				(PAGE_SIZE - offset_in_page(pos)) / sizeof(u64));
		if (!n)
			pos = bitmap->pgoff + iova_bitmap_byte(bit);

		if (!kaddr || pos / PAGE_SIZE != idx) {
			if (kaddr) {
				flush_dcache_page(bitmap->pages[idx]);
				kunmap_local(kaddr);
			}
			idx = pos / PAGE_SIZE;
			kaddr = kmap_local_page(bitmap->pages[idx]);
		}
		pos = offset_in_page(pos);

		if (n) {
			memset(kaddr + pos, 0xff, n * sizeof(u64));
			n *= IOVA_BITMAP_WORD_BITS;
		} else {
			unsigned int shift = bit % BITS_PER_BYTE;

			n = min_t(unsigned long, nbits, BITS_PER_BYTE - shift);
			kaddr[pos] |= GENMASK(shift + n - 1, shift);
		}
		bit += n;
		nbits -= n;
	}
	flush_dcache_page(bitmap->pages[idx]);
	kunmap_local(kaddr);
	bitmap->dirtied = true;
}

/* Remember [@iova, @last], which lies beyond the current window */
static void iova_bitmap_carry(struct iova_bitmap *bitmap, unsigned long iova,
			      unsigned long last)
{
	if (bitmap->carry) {
		iova = min(iova, bitmap->carry_iova);
		last = max(last, bitmap->carry_last);
	}
	bitmap->carry = true;
	bitmap->carry_iova = iova;
	bitmap->carry_last = last;
}

/* Record the inclusive IOVA range [@iova, @last] against the window */
static void iova_bitmap_record(struct iova_bitmap *bitmap, unsigned long iova,
			       unsigned long last)
{
	unsigned long first_bit, last_bit;

	if (last < bitmap->win_iova || iova > bitmap->last)
		return;
	iova = max(iova, bitmap->win_iova);
	last = min(last, bitmap->last);

	if (last > bitmap->win_last) {
		/* win_last < last <= bitmap->last, so this cannot wrap */
		iova_bitmap_carry(bitmap, max(iova, bitmap->win_last + 1), last);
		if (iova > bitmap->win_last)
			return;
		last = bitmap->win_last;
	}

	first_bit = (iova - bitmap->iova) >> bitmap->pgshift;
	last_bit = (last - bitmap->iova) >> bitmap->pgshift;
	iova_bitmap_set_bits(bitmap, first_bit - bitmap->win_bit,
			     last_bit - first_bit + 1);
}

/* Unpin the current window and pin the next one, starting at @next_word */
static int iova_bitmap_map_next(struct iova_bitmap *bitmap)
{
	unsigned long word = bitmap->next_word;
	unsigned long addr = (unsigned long)bitmap->data + word * sizeof(u64);
	unsigned long left = bitmap->nwords - word;
	unsigned long nwords, nbits, span, room;
	int npages;

	iova_bitmap_unmap(bitmap);

	bitmap->pgoff = offset_in_page(addr);
	npages = min(DIV_ROUND_UP(bitmap->pgoff + left * sizeof(u64), PAGE_SIZE),
		     bitmap->max_pages);
	npages = pin_user_pages_fast(addr & PAGE_MASK, npages, FOLL_WRITE,
				     bitmap->pages);
	if (npages <= 0)
		return npages ? npages : -EFAULT;
	bitmap->npages = npages;
	bitmap->dirtied = false;

	/*
	 * Fewer pages than asked for may be pinned; the window just shrinks.
	 * If not even one word fits, the next page could not be pinned.
	 */
	nwords = min(left, (npages * PAGE_SIZE - bitmap->pgoff) / sizeof(u64));
	if (!nwords) {
		iova_bitmap_unmap(bitmap);
		return -EFAULT;
	}
	bitmap->next_word = word + nwords;
	bitmap->win_bit = word * IOVA_BITMAP_WORD_BITS;
	nbits = min(nwords * IOVA_BITMAP_WORD_BITS,
		    bitmap->nbits - bitmap->win_bit);

	/*
	 * The window ends with the IOVA page of its last bit, or with the
	 * bitmap's range if that ends first. (nbits - 1) << pgshift is at most
	 * last - win_iova, so nothing here wraps, even at ULONG_MAX.
	 */
	bitmap->win_iova = bitmap->iova + (bitmap->win_bit << bitmap->pgshift);
	span = (nbits - 1) << bitmap->pgshift;
	room = bitmap->last - bitmap->win_iova;
	bitmap->win_last = bitmap->win_iova + span +
			   min(room - span, (1UL << bitmap->pgshift) - 1);

	/* Apply what earlier windows could not hold; the rest stays pending */
	if (bitmap->carry) {
		bitmap->carry = false;
		iova_bitmap_record(bitmap, bitmap->carry_iova,
				   bitmap->carry_last);
	}
	return 0;
}

/**
 * iova_bitmap_for_each() - walk a bitmap one pinned window at a time
 * @bitmap: the bitmap
 * @opaque: passed through to @fn
 * @fn: called for each window with the window's IOVA range
 *
 * Pins the user pages of each window in turn and calls @fn with the IOVA
 * range that the window describes, in increasing IOVA order, covering the
 * whole range given to iova_bitmap_alloc(). @fn reports dirty IOVAs with
 * iova_bitmap_set(). Each window is unpinned, and its pages marked dirty,
 * before the next one is pinned. Nothing is left pinned on return.
 *
 * Context: Process context; may sleep. @fn is called in the same context.
 * Return: 0 once every window was handled, otherwise the first error from
 * @fn or from pinning the user memory, which stops the walk.
 */
int iova_bitmap_for_each(struct iova_bitmap *bitmap, void *opaque,
			 iova_bitmap_fn_t fn)
{
	int ret = 0;

	bitmap->next_word = 0;
	bitmap->carry = false;
	while (bitmap->next_word < bitmap->nwords) {
		ret = iova_bitmap_map_next(bitmap);
		if (ret)
			break;
		ret = fn(bitmap, bitmap->win_iova,
			 bitmap->win_last - bitmap->win_iova + 1, opaque);
		if (ret)
			break;
	}
	iova_bitmap_unmap(bitmap);
	return ret;
}
EXPORT_SYMBOL_NS_GPL(iova_bitmap_for_each, IOMMUFD);

/**
 * iova_bitmap_set() - mark an IOVA range dirty
 * @bitmap: the bitmap being walked by iova_bitmap_for_each()
 * @iova: start of the dirty range
 * @length: length of the dirty range in bytes
 *
 * Sets the bit of every page of the bitmap that [@iova, @iova + @length)
 * overlaps. The range may reach past either end of the current window,
 * as a large IOPTE can: the part after the window is written when the
 * following windows are mapped, the part before it is ignored.
 *
 * Context: Any context, including atomic; never sleeps or allocates. Only
 * valid from within the function called by iova_bitmap_for_each(); calls
 * outside of it are ignored.
 */
void iova_bitmap_set(struct iova_bitmap *bitmap, unsigned long iova,
		     size_t length)
{
	unsigned long last;

	if (!length || !bitmap->npages)
		return;
	if (check_add_overflow(iova, length - 1, &last))
		last = ULONG_MAX;
	iova_bitmap_record(bitmap, iova, last);
}
EXPORT_SYMBOL_NS_GPL(iova_bitmap_set, IOMMUFD);
