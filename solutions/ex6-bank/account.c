/* account.c: ex6-bank, solved: exact amounts, and a lock per account held
 * from the read of a balance to its write.
 *
 * The whole exercise is one idea: in a task, every await is a place where
 * other tasks run. A value read before an await may be stale after it. Two
 * cures, and this file uses the first:
 *
 * 1. Hold the account's lock from the read to the write, across the await.
 *    Nobody else writes the balance meanwhile, *provided every writer takes
 *    the lock*: a lock only protects against the code that also takes it.
 * 2. Or keep no value across an await: do the waiting first, then read,
 *    check and write with no await in between (tests/alternatives shows
 *    that version). Between two awaits a task runs alone: no other task
 *    can slip in, because tasks switch only where they await.
 *
 * asyncio has the same bug and the same cures: `balance = self.balance;
 * await report(); self.balance = balance + amount` loses deposits, and
 * `async with self.lock:` around it, or reading after the await, fixes it.
 */
#include "account.h"

int amount_parse(const char *text, int64_t *cents) {
  /* Integers all the way: units and cents are counted digit by digit, so
   * "0.29" is 29 cents exactly. strtod would give 0.28999999999999998,
   * which times 100 truncates to 28, and it would take "10.001", "1e3",
   * " 5", "nan" and "inf" too. */
  const char *c = text;
  int64_t units = 0;
  if (*c < '0' || *c > '9') return BANK_EAMOUNT; /* "", "-5", "+5", ".5" */
  for (; *c >= '0' && *c <= '9'; c++) {
    /* Stop before the multiplication could overflow int64_t. */
    if (units > BANK_MAX_AMOUNT / 100) return BANK_EAMOUNT;
    units = units * 10 + (*c - '0');
  }
  int64_t fraction = 0;
  if (*c == '.') {
    c++;
    int digits = 0;
    for (; *c >= '0' && *c <= '9' && digits < 2; c++, digits++)
      fraction = fraction * 10 + (*c - '0');
    if (digits == 0) return BANK_EAMOUNT; /* "12." */
    if (digits == 1) fraction *= 10;      /* "5.5" is 550 */
  }
  if (*c != '\0') return BANK_EAMOUNT; /* "10.001", "1e3", "5 " */
  int64_t total = units * 100 + fraction;
  if (total > BANK_MAX_AMOUNT) return BANK_EAMOUNT;
  *cents = total; /* only on success: a caller's value survives a refusal */
  return 0;
}

int account_deposit(account_t *account, int64_t cents) {
  if (cents <= 0) return BANK_EAMOUNT;
  /* The report is about the deposit, not the balance: file it before
   * taking the lock, so that other operations on this account do not wait
   * for the office too. Exactly once: no retry loop around it. */
  if (cents > BANK_AML_THRESHOLD) {
    int rc = bank_report_deposit(account, cents);
    if (rc != 0) return rc; /* cancelled: nothing happened */
  }
  /* No await between this read and write, so this would be safe even
   * without the lock... except that withdrawals and transfers hold the
   * lock across their TAN wait, between *their* read and write. Writing
   * now, under their feet, would be lost when they write. Every writer of
   * the balance takes the lock, or the lock protects nothing. */
  int rc = async_lock_acquire(&account->lock);
  if (rc != 0) return rc;
  account_set_balance(account, account_balance(account) + cents);
  async_lock_release(&account->lock);
  return 0;
}

int account_withdraw(account_t *account, int64_t cents) {
  /* Refusals that need no balance come first, without the lock. */
  if (cents <= 0) return BANK_EAMOUNT;
  if (cents > BANK_WITHDRAWAL_LIMIT) return BANK_ELIMIT;
  /* The check and the subtraction belong together ("check, then act"):
   * the lock keeps every other writer of this balance out from the check,
   * through the TAN wait, to the write. The lock is this account's only:
   * withdrawals from other accounts go on meanwhile. */
  int rc = async_lock_acquire(&account->lock);
  if (rc != 0) return rc;
  int64_t balance = account_balance(account);
  if (balance < cents)
    rc = BANK_EFUNDS; /* refused before bothering the customer */
  else
    rc = bank_confirm_tan(account, cents);
  /* Still ours: nobody wrote the balance while we waited. */
  if (rc == 0) account_set_balance(account, balance - cents);
  /* Every path releases the lock, refusals and cancellation included. */
  async_lock_release(&account->lock);
  return rc;
}

int account_transfer(account_t *from, account_t *to, int64_t cents) {
  if (cents <= 0) return BANK_EAMOUNT;
  /* Taking the same (non-reentrant) lock twice would be ASYNC_EDEADLK. */
  if (from == to) return UV_EINVAL;
  /* Two locks: take them in one global order, the lower account id first,
   * whatever the direction of the transfer. Taken in argument order, a
   * transfer 1 -> 2 holding lock 1 and one 2 -> 1 holding lock 2 would
   * each wait for the other's for ever. With one order, whoever holds the
   * lower lock is never waited for by someone who holds the higher one.
   * Check mode proves it: it records the order every pair of locks was
   * ever taken in, and reports a cycle (a "potential deadlock") even on the
   * runs that happened to go through. */
  account_t *first = from->id < to->id ? from : to;
  account_t *second = first == from ? to : from;
  int rc = async_lock_acquire(&first->lock);
  if (rc != 0) return rc;
  rc = async_lock_acquire(&second->lock);
  if (rc != 0) {
    async_lock_release(&first->lock);
    return rc;
  }
  int64_t balance = account_balance(from);
  if (balance < cents)
    rc = BANK_EFUNDS;
  else
    rc = bank_confirm_tan(from, cents);
  if (rc == 0) {
    /* Both writes in one step, no await between them: no task ever sees
     * the money in neither account. All or nothing. */
    account_set_balance(from, balance - cents);
    account_set_balance(to, account_balance(to) + cents);
  }
  /* Release order does not matter for deadlocks; reverse is customary. */
  async_lock_release(&second->lock);
  async_lock_release(&first->lock);
  return rc;
}
