/* account.c: ex6-bank, a known-wrong variant: amounts parsed with floating
 * point. */
#include <stdlib.h>
#include "account.h"

int amount_parse(const char *text, int64_t *cents) {
  /* The draft's floating-point parse. */
  char *end;
  double value = strtod(text, &end);
  if (end == text || *end != '\0' || value < 0) return BANK_EAMOUNT;
  *cents = (int64_t)(value * 100);
  return 0;
}

int account_deposit(account_t *account, int64_t cents) {
  if (cents <= 0) return BANK_EAMOUNT;
  if (cents > BANK_AML_THRESHOLD) {
    int rc = bank_report_deposit(account, cents);
    if (rc != 0) return rc;
  }
  int rc = async_lock_acquire(&account->lock);
  if (rc != 0) return rc;
  account_set_balance(account, account_balance(account) + cents);
  async_lock_release(&account->lock);
  return 0;
}

int account_withdraw(account_t *account, int64_t cents) {
  if (cents <= 0) return BANK_EAMOUNT;
  if (cents > BANK_WITHDRAWAL_LIMIT) return BANK_ELIMIT;
  int rc = async_lock_acquire(&account->lock);
  if (rc != 0) return rc;
  int64_t balance = account_balance(account);
  if (balance < cents)
    rc = BANK_EFUNDS;
  else
    rc = bank_confirm_tan(account, cents);
  if (rc == 0) account_set_balance(account, balance - cents);
  async_lock_release(&account->lock);
  return rc;
}

int account_transfer(account_t *from, account_t *to, int64_t cents) {
  if (cents <= 0) return BANK_EAMOUNT;
  if (from == to) return UV_EINVAL;
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
    account_set_balance(from, balance - cents);
    account_set_balance(to, account_balance(to) + cents);
  }
  async_lock_release(&second->lock);
  async_lock_release(&first->lock);
  return rc;
}
