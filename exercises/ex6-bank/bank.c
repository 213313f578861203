/* bank.c: ex6-bank's bank services, accounts and amounts (kit-owned; do
 * not edit).
 *
 * The services only wait (async_sleep) and keep a record of what they saw,
 * so that the checks can count them: a deposit reported twice, a TAN never
 * asked for. In check mode the waits are virtual: a whole day at the bank
 * runs in a millisecond, with exact timestamps.
 */
#include "bank.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

const char *bank_strerror(int error) {
  switch (error) {
  case 0:
    return "success";
  case BANK_EAMOUNT:
    return "not a valid amount";
  case BANK_EFUNDS:
    return "insufficient funds";
  case BANK_EDENIED:
    return "the TAN was denied";
  case BANK_ELIMIT:
    return "over the per-withdrawal limit";
  default:
    return async_strerror(error);
  }
}

const char *bank_error_name(int error) {
  switch (error) {
  case 0:
    return "0";
  case BANK_EAMOUNT:
    return "BANK_EAMOUNT";
  case BANK_EFUNDS:
    return "BANK_EFUNDS";
  case BANK_EDENIED:
    return "BANK_EDENIED";
  case BANK_ELIMIT:
    return "BANK_ELIMIT";
  default:
    return error < 0 ? async_err_name(error) : "a positive number";
  }
}

void bank_init(bank_t *bank) {
  *bank = (bank_t){.aml_seconds = BANK_AML_SECONDS,
                   .tan_seconds = BANK_TAN_SECONDS};
}

void bank_destroy(bank_t *bank) {
  free(bank->reports);
  bank->reports = NULL;
  bank->report_count = bank->report_capacity = 0;
}

void bank_open_account(bank_t *bank, account_t *account,
                       int64_t opening_cents) {
  account->id = (int)++bank->account_count;
  account->bank = bank;
  snprintf(account->name, sizeof account->name, "account %d", account->id);
  /* The names read well in check mode's reports: "task 'bob' wrote the
   * balance of account 1 at account.c:40...". */
  snprintf(account->balance_name, sizeof account->balance_name,
           "the balance of account %d", account->id);
  async_shared_init(&account->balance, account->balance_name, opening_cents);
  async_lock_init(&account->lock);
  char lock_name[48];
  snprintf(lock_name, sizeof lock_name, "the lock of account %d", account->id);
  async_lock_set_name(&account->lock, lock_name);
}

char *bank_format_amount(int64_t cents, char *text, size_t size) {
  /* Unsigned, so that INT64_MIN has a magnitude too. */
  uint64_t magnitude = cents < 0 ? 0 - (uint64_t)cents : (uint64_t)cents;
  snprintf(text, size, "%s%" PRIu64 ".%02" PRIu64, cents < 0 ? "-" : "",
           magnitude / 100, magnitude % 100);
  return text;
}

double bank__aml_wait(const account_t *account) {
  return account->bank->aml_seconds;
}

int bank__aml_filed(account_t *account, int64_t cents, int waited) {
  if (waited != 0) return waited; /* cancelled: nothing was filed */
  bank_t *bank = account->bank;
  if (bank->report_count == bank->report_capacity) {
    size_t capacity = bank->report_capacity ? bank->report_capacity * 2 : 16;
    bank_report_t *grown = realloc(bank->reports, capacity * sizeof *grown);
    if (grown == NULL) return UV_ENOMEM;
    bank->reports = grown;
    bank->report_capacity = capacity;
  }
  bank->reports[bank->report_count++] =
      (bank_report_t){account->id, cents, async_time()};
  return 0;
}

double bank__tan_wait(const account_t *account) {
  return account->bank->tan_seconds;
}

int bank__tan_answer(account_t *account, int64_t cents, int waited) {
  (void)cents;
  if (waited != 0) return waited;
  bank_t *bank = account->bank;
  bank->tans_asked++;
  if (bank->deny_tan_every != 0 &&
      bank->tans_asked % bank->deny_tan_every == 0) {
    bank->tans_denied++;
    return BANK_EDENIED;
  }
  return 0;
}
