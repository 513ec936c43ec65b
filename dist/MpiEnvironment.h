#pragma once
// RAII owner of MPI_Init / MPI_Finalize for an executable (never for library code).
namespace ptuner::dist {

class MpiEnvironment {
 public:
  MpiEnvironment(int* argc, char*** argv);
  ~MpiEnvironment();
  MpiEnvironment(const MpiEnvironment&) = delete;
  MpiEnvironment& operator=(const MpiEnvironment&) = delete;
  // Ends every rank of the job after an error on one of them, so that peers do not hang.
  static void abort(int code);

 private:
  bool owns_ = false;
};

}  // namespace ptuner::dist
