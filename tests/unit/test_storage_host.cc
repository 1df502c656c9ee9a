// Storage providers' host names and path-style paths (dataplane/policy/storage_host.h).
#include "dataplane/policy/storage_host.h"

#include <gtest/gtest.h>

namespace sluice {
namespace {

TEST(StorageHost, AzureAccountServicesAndSecondary) {
  StorageHost host = classify_storage_host("acmedata.dfs.core.windows.net");
  EXPECT_EQ(host.provider, StorageProvider::azure);
  EXPECT_EQ(host.owner, "acmedata");
  EXPECT_EQ(host.service, "dfs");
  EXPECT_FALSE(host.path_style);
  host = classify_storage_host("acmedata-secondary.blob.core.windows.net");
  EXPECT_EQ(host.provider, StorageProvider::azure);
  EXPECT_EQ(host.owner, "acmedata");
  EXPECT_EQ(host.service, "blob");
  host = classify_storage_host("acmedata.z13.web.core.windows.net");
  EXPECT_EQ(host.service, "web");
  EXPECT_EQ(classify_storage_host("evil.blob.core.windows.net").owner, "evil");
}

TEST(StorageHost, AzureNamesOfOtherShapesAreNotStorage) {
  for (const char* name : {"ab.blob.core.windows.net",            // account too short
                           "acme_data.blob.core.windows.net",     // not an account name
                           "acmedata.vault.core.windows.net",     // not a storage service
                           "x.acmedata.blob.core.windows.net",    // one label too many
                           "acmedata.zz.web.core.windows.net",    // no zone
                           "core.windows.net", "blob.core.windows.net"})
    EXPECT_EQ(classify_storage_host(name).provider, StorageProvider::none) << name;
}

TEST(StorageHost, S3VirtualHostedDualStackFipsAndLegacyNames) {
  for (const char* name : {"acme-logs.s3.eu-west-1.amazonaws.com", "acme-logs.s3.amazonaws.com",
                           "acme-logs.s3.dualstack.eu-west-1.amazonaws.com", "acme-logs.s3-fips.us-east-1.amazonaws.com",
                           "acme-logs.s3-fips.dualstack.us-gov-west-1.amazonaws.com", "acme-logs.s3-eu-west-1.amazonaws.com",
                           "acme-logs.s3-website-us-east-1.amazonaws.com", "acme-logs.s3-website.eu-west-1.amazonaws.com"}) {
    const StorageHost host = classify_storage_host(name);
    EXPECT_EQ(host.provider, StorageProvider::s3) << name;
    EXPECT_EQ(host.owner, "acme-logs") << name;
    EXPECT_FALSE(host.path_style) << name;
  }
  // A bucket may hold dots, even a label "s3" of its own.
  EXPECT_EQ(classify_storage_host("s3.backup.s3.eu-west-1.amazonaws.com").owner, "s3.backup");
}

TEST(StorageHost, S3SharedEndpointsArePathStyle) {
  for (const char* name : {"s3.amazonaws.com", "s3.eu-west-1.amazonaws.com", "s3.dualstack.eu-west-1.amazonaws.com",
                           "s3-fips.us-east-1.amazonaws.com", "s3-fips.dualstack.us-east-1.amazonaws.com",
                           "s3-eu-west-1.amazonaws.com", "s3-external-1.amazonaws.com"}) {
    const StorageHost host = classify_storage_host(name);
    EXPECT_EQ(host.provider, StorageProvider::s3) << name;
    EXPECT_TRUE(host.path_style) << name;
    EXPECT_TRUE(host.owner.empty()) << name;
  }
}

TEST(StorageHost, S3AccessPointsNeedNameAndAccount) {
  const StorageHost host = classify_storage_host("reports-123456789012.s3-accesspoint.eu-west-1.amazonaws.com");
  EXPECT_EQ(host.provider, StorageProvider::s3);
  EXPECT_TRUE(host.access_point);
  EXPECT_EQ(host.owner, "reports-123456789012");
  EXPECT_EQ(classify_storage_host("reports.s3-accesspoint.eu-west-1.amazonaws.com").provider, StorageProvider::none);
  EXPECT_EQ(classify_storage_host("s3-accesspoint.eu-west-1.amazonaws.com").provider, StorageProvider::none);
}

TEST(StorageHost, OtherAwsNamesAreNotStorage) {
  for (const char* name : {"ec2.eu-west-1.amazonaws.com", "sts.amazonaws.com", "amazonaws.com", "s3.notaregion.amazonaws.com",
                           "x.s3-control.eu-west-1.amazonaws.com", "x.s3.eu-west-1.amazonaws.com.evil.example"})
    EXPECT_EQ(classify_storage_host(name).provider, StorageProvider::none) << name;
}

TEST(StorageHost, GcsBucketsAndTheSharedEndpoint) {
  StorageHost host = classify_storage_host("acme-ml.storage.googleapis.com");
  EXPECT_EQ(host.provider, StorageProvider::gcs);
  EXPECT_EQ(host.owner, "acme-ml");
  host = classify_storage_host("storage.googleapis.com");
  EXPECT_EQ(host.provider, StorageProvider::gcs);
  EXPECT_TRUE(host.path_style);
  EXPECT_EQ(classify_storage_host("xstorage.googleapis.com").provider, StorageProvider::none);
  EXPECT_EQ(classify_storage_host("www.googleapis.com").provider, StorageProvider::none);
}

TEST(StorageBucketInPath, FirstSegmentNamesTheBucket) {
  EXPECT_EQ(storage_bucket_in_path(StorageProvider::s3, "/acme-logs/2026/12/part-0.parquet"), "acme-logs");
  EXPECT_EQ(storage_bucket_in_path(StorageProvider::s3, "/acme-logs"), "acme-logs");
  EXPECT_EQ(storage_bucket_in_path(StorageProvider::s3, "/acme-logs/"), "acme-logs");
  EXPECT_EQ(storage_bucket_in_path(StorageProvider::gcs, "/acme-ml/model.bin"), "acme-ml");
}

TEST(StorageBucketInPath, GcsJsonApiNamesTheBucketAfterB) {
  EXPECT_EQ(storage_bucket_in_path(StorageProvider::gcs, "/storage/v1/b/acme-ml/o/model.bin"), "acme-ml");
  EXPECT_EQ(storage_bucket_in_path(StorageProvider::gcs, "/upload/storage/v1/b/acme-ml/o"), "acme-ml");
  EXPECT_EQ(storage_bucket_in_path(StorageProvider::gcs, "/download/storage/v1/b/acme-ml/o/x"), "acme-ml");
  EXPECT_EQ(storage_bucket_in_path(StorageProvider::gcs, "/storage/v1/b"), "");  // bucket list
  EXPECT_EQ(storage_bucket_in_path(StorageProvider::gcs, "/batch/storage/v1"), "");
  // S3 has no JSON API: there "storage" is a bucket like any other.
  EXPECT_EQ(storage_bucket_in_path(StorageProvider::s3, "/storage/v1/b/x"), "storage");
}

TEST(StorageBucketInPath, UnreadablePathsNameNoBucket) {
  for (const char* path : {"", "/", "//acme-logs/x", "acme-logs/x", "/acme-logs/../evil/x", "/./acme-logs",
                           "/acme-logs/./x", "/acme%2dlogs/x", "/acme-logs/%2e%2e/evil", "/acme-logs\\..\\evil",
                           "/..", "/."})
    EXPECT_EQ(storage_bucket_in_path(StorageProvider::s3, path), "") << path;
}

}  // namespace
}  // namespace sluice
