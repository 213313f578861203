/* account.c: ex6-bank, a known-wrong variant: the withdrawal checks the funds
 * before the TAN's wait. */
#include "account.h"

int amount_parse(const char *text, int64_t *cents) {
  const char *c = text;
  int64_t units = 0;
  if (*c < '0' || *c > '9') return BANK_EAMOUNT;
  for (; *c >= '0' && *c <= '9'; c++) {
    if (units > BANK_MAX_AMOUNT / 100) return BANK_EAMOUNT;
    units = units * 10 + (*c - '0');
  }
  int64_t fraction = 0;
  if (*c == '.') {
    c++;
    int digits = 0;
    for (; *c >= '0' && *c <= '9' && digits < 2; c++, digits++)
      fraction = fraction * 10 + (*c - '0');
    if (digits == 0) return BANK_EAMOUNT;
    if (digits == 1) fraction *= 10;
  }
  if (*c != '\0') return BANK_EAMOUNT;
  int64_t total = units * 100 + fraction;
  if (total > BANK_MAX_AMOUNT) return BANK_EAMOUNT;
  *cents = total;
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
  /* The draft's bug, alone: the funds checked before the TAN wait. */
  if (account_balance(account) < cents) return BANK_EFUNDS;
  int rc = bank_confirm_tan(account, cents);
  if (rc != 0) return rc;
  account_set_balance(account, account_balance(account) - cents);
  return 0;
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
