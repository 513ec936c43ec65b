// MPI communicator collectives on the whole world, each checked against values every rank can
// work out from its rank alone.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "dist/Check.h"
#include "dist/ParallelState.h"
#include "tests/MpiSupport.h"

namespace ptuner::dist {
namespace {

using ptuner::testing::world;

TEST(MpiCommunicator, AllReduceSumAvgMaxAcrossDtypes) {
  auto w = world();
  const int n = w->size(), r = w->rank();
  const double sum = n * (n + 1) / 2.0;  // Σ (rank + 1)
  for (auto dtype : {torch::kFloat32, torch::kFloat64, torch::kBFloat16, torch::kFloat16, torch::kInt64}) {
    auto t = torch::full({3}, r + 1, torch::TensorOptions().dtype(dtype));
    w->all_reduce(t, ReduceOp::Sum);
    EXPECT_EQ(t.scalar_type(), dtype);
    EXPECT_DOUBLE_EQ(t[1].item<double>(), sum) << c10::toString(dtype);
    auto m = torch::full({2}, r + 1, torch::TensorOptions().dtype(dtype));
    w->all_reduce(m, ReduceOp::Max);
    EXPECT_DOUBLE_EQ(m[0].item<double>(), n) << c10::toString(dtype);
  }
  auto a = torch::full({2}, static_cast<float>(r + 1));
  w->all_reduce(a, ReduceOp::Avg);
  EXPECT_FLOAT_EQ(a[0].item<float>(), static_cast<float>(sum / n));
  EXPECT_DOUBLE_EQ(w->all_reduce_scalar(r, ReduceOp::Max), n - 1);
}

TEST(MpiCommunicator, GatherScatterBroadcastPointToPoint) {
  auto w = world();
  const int n = w->size(), r = w->rank();
  auto g = w->all_gather(torch::full({2, 3}, static_cast<float>(r)));
  ASSERT_EQ(g.sizes(), torch::IntArrayRef({2 * n, 3}));
  for (int i = 0; i < n; ++i) EXPECT_EQ(g[2 * i][0].item<float>(), static_cast<float>(i));
  // reduce_scatter of rows [k] = k + rank: this rank's block of Σ_r (k + r)
  auto x = torch::arange(2 * n, torch::kFloat32).unsqueeze(1) + r;
  auto rs = w->reduce_scatter(x);
  ASSERT_EQ(rs.size(0), 2);
  EXPECT_FLOAT_EQ(rs[0][0].item<float>(), static_cast<float>(n * (2 * r) + n * (n - 1) / 2));
  auto b = torch::full({4}, static_cast<float>(r == n - 1 ? 7 : 0));
  w->broadcast(b, n - 1);
  EXPECT_TRUE(torch::equal(b, torch::full({4}, 7.0f)));
  std::string bytes = r == 0 ? "layout tp=2" : "";
  w->broadcast_bytes(bytes, 0);
  EXPECT_EQ(bytes, "layout tp=2");
  // A ring: send to the next rank, receive from the previous.
  auto out = torch::full({5}, static_cast<double>(r), torch::kFloat64);
  auto in = torch::empty({5}, torch::kFloat64);
  if (r % 2 == 0) {
    w->send(out, (r + 1) % n, 3);
    w->recv(in, (r + n - 1) % n, 3);
  } else {
    w->recv(in, (r + n - 1) % n, 3);
    w->send(out, (r + 1) % n, 3);
  }
  EXPECT_DOUBLE_EQ(in[0].item<double>(), (r + n - 1) % n);
  w->barrier();
}

// Strict mode (PTUNER_MPI_STRICT) holds point-to-point traffic to NCCL's rules, so that the
// pipeline suites run under it show that the same calls cannot hang over NCCL. Ranks 0 and 1
// exchange; the others only join the collectives.
TEST(MpiCommunicator, StrictModeFollowsNcclRules) {
  auto w = world();
  ASSERT_GE(w->size(), 2);
  const int r = w->rank();
  const bool before = MpiCommunicator::strict();
  // Two messages, tags 5 then 6, received as 6 then 5: MPI matches by tag, strict mode (as NCCL)
  // in posting order.
  for (const bool strict : {false, true}) {
    MpiCommunicator::set_strict(strict);
    if (r == 0) {
      w->send(torch::full({1}, 1.0f), 1, 5);
      w->send(torch::full({1}, 2.0f), 1, 6);
    } else if (r == 1) {
      auto six = torch::empty({1}), five = torch::empty({1});
      w->recv(six, 0, 6);
      w->recv(five, 0, 5);
      EXPECT_EQ(six.item<float>(), strict ? 1.0f : 2.0f) << "strict " << strict;
      EXPECT_EQ(five.item<float>(), strict ? 2.0f : 1.0f) << "strict " << strict;
    }
    w->barrier();
  }
  // Rank 0 sends `sent` floats of 3, rank 1 receives into `room`: rank 1's error ("" if none).
  auto exchange = [&](int64_t sent, int64_t room) {
    std::string error;
    if (r == 0) {
      w->send(torch::full({sent}, 3.0f), 1, 0);
    } else if (r == 1) {
      auto into = torch::zeros({room});
      try {
        w->recv(into, 0, 0);
      } catch (const Error& e) {
        error = e.what();
      }
      if (room > sent) {
        EXPECT_EQ(into[sent - 1].item<float>(), 3.0f);
      }
    }
    w->barrier();
    return error;
  };
  for (const bool strict : {false, true}) {
    MpiCommunicator::set_strict(strict);
    // A receive larger than the message: MPI fills the front of the buffer, strict mode refuses it
    // (ncclRecv's count must equal ncclSend's), naming both sizes.
    const auto larger = exchange(4, 8);
    if (r == 1 && strict) {
      EXPECT_NE(larger.find("received 16 bytes from world rank 0 into a buffer of 32 bytes"), std::string::npos)
          << larger;
    } else if (r == 1) {
      EXPECT_EQ(larger, "");
    }
    // A receive smaller than the message: MPI's truncation error in either mode, named as such (not
    // as MPI_ERR_IN_STATUS, the code of the wait over several requests).
    const auto smaller = exchange(8, 4);
    if (r == 1) {
      EXPECT_NE(smaller.find("MPI call recv failed: MPI_ERR_TRUNCATE"), std::string::npos) << smaller;
    }
  }
  // A strict send returns only after its receive has started: rank 1 starts its receive 0.3 s
  // late, rank 0's send returns after that moment (one clock: CLOCK_MONOTONIC, one machine).
  MpiCommunicator::set_strict(true);
  auto now = [] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
  };
  double sent = 0, posted = 0;
  if (r == 0) {
    w->send(torch::full({1}, 4.0f), 1, 0);
    sent = now();
  } else if (r == 1) {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    auto in = torch::empty({1});
    posted = now();
    w->recv(in, 0, 0);
  }
  sent = w->all_reduce_scalar(sent, ReduceOp::Max);
  posted = w->all_reduce_scalar(posted, ReduceOp::Max);
  EXPECT_GE(sent, posted);
  MpiCommunicator::set_strict(before);
}

TEST(ParallelState, GroupsFollowTheMegatronOrder) {
  auto w = world();
  const int n = w->size();
  for (int tp : {1, 2}) {
    if (n % tp) continue;
    Layout l{tp, 1, n / tp};
    ParallelState ps(l, w);
    EXPECT_EQ(ps.tp().size(), tp);
    EXPECT_EQ(ps.dp().size(), n / tp);
    // Sum of world ranks in my TP group: consecutive ranks [dp·tp, dp·tp + tp).
    double tp_sum = ps.tp().all_reduce_scalar(w->rank(), ReduceOp::Sum);
    const int base = ps.dp_rank() * tp;
    EXPECT_DOUBLE_EQ(tp_sum, tp * base + tp * (tp - 1) / 2.0);
    // My DP group: ranks tp_rank + k·tp.
    double dp_sum = ps.dp().all_reduce_scalar(w->rank(), ReduceOp::Sum);
    const int m = n / tp;
    EXPECT_DOUBLE_EQ(dp_sum, m * ps.tp_rank() + tp * m * (m - 1) / 2.0);
  }
  if (n == 4) {
    ParallelState ps(Layout{1, 2, 2}, w);  // rank = pp·2 + dp
    EXPECT_EQ(ps.pp_rank(), w->rank() / 2);
    EXPECT_EQ(ps.next_rank(), ps.is_last_stage() ? -1 : w->rank() + 2);
    EXPECT_EQ(ps.prev_rank(), ps.is_first_stage() ? -1 : w->rank() - 2);
  }
}

}  // namespace
}  // namespace ptuner::dist
